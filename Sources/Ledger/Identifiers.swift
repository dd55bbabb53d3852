/// Account identifiers are 32-bit so that (account, asset) packs into one UInt64
/// leaf key of the state tree; four billion accounts is far beyond a private market.
public typealias AccountID = UInt32
/// Security identifiers start at 1: asset 0 in a leaf key means "cash".
public typealias SecurityID = UInt32

/// Timestamps are microseconds since the Unix epoch, UTC, always carried in with
/// the input (the block's timestamp), never read from a clock.
public typealias Timestamp = Int64
