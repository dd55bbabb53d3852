/// Every trade id that ever settled, as a sparse bitmap: 64-id words keyed by
/// `id >> 6`. The exchange numbers trades in increasing order, so ids are dense
/// and a million settled trades take about 16,000 words (≈ 400 KB) instead of a
/// 16 MB hash set, and consecutive trades of a batch hit the same cached word.
/// Sparse ids degrade to one word per id, no worse than a set.
public struct SettledTradeSet: Sendable, Equatable {
    private var words: [UInt64: UInt64] = [:]
    public private(set) var count = 0

    public init() {}

    @inline(__always) public func contains(_ id: UInt64) -> Bool {
        guard let word = words[id >> 6] else { return false }
        return word & (1 << (id & 63)) != 0
    }

    /// Returns false if the id was already present.
    @inline(__always) @discardableResult
    public mutating func insert(_ id: UInt64) -> Bool {
        let bit: UInt64 = 1 << (id & 63)
        var inserted = false
        words[id >> 6, default: 0].formUnion(bit, inserted: &inserted)
        if inserted { count += 1 }
        return inserted
    }

    /// The 64 flags of ids `index << 6 ..< (index + 1) << 6`.
    public func word(_ index: UInt64) -> UInt64 { words[index] ?? 0 }

    /// Words ascending by index: the canonical snapshot order.
    func sortedWords() -> [(index: UInt64, bits: UInt64)] {
        words.keys.sorted().map { ($0, words[$0] ?? 0) }
    }

    /// Rebuilds from snapshot words; rejects empty or repeated words so that one
    /// set has one encoding.
    mutating func load(index: UInt64, bits: UInt64) -> Bool {
        guard bits != 0, index <= UInt64.max >> 6, words[index] == nil else { return false }
        words[index] = bits
        count += bits.nonzeroBitCount
        return true
    }
}

extension UInt64 {
    @inline(__always) fileprivate mutating func formUnion(_ bit: UInt64, inserted: inout Bool) {
        inserted = self & bit == 0
        self |= bit
    }
}
