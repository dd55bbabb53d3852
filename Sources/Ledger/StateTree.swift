import Cryptography

/// Packs (account, asset) into the 64-bit key of a state-tree leaf; asset 0 is cash.
@inline(__always) public func leafKey(account: AccountID, asset: SecurityID) -> UInt64 {
    UInt64(account) << 32 | UInt64(asset)
}

/// One (key, value) leaf as it is hashed and as a proof carries it.
public struct LeafEntry: Equatable, Sendable {
    public var key: UInt64
    public var value: Int64
    public init(key: UInt64, value: Int64) {
        self.key = key
        self.value = value
    }
}

/// All balances (holdings and cash) with an incrementally maintained Merkle root.
///
/// Shape: leaves are hashed in 2^16 buckets (a bucket's hash covers its leaves in
/// ascending key order), and a 16-ary tree of 4 levels sits over the buckets.
/// A write marks its bucket dirty; `root()` rehashes only dirty buckets and the
/// nodes on their paths, so the cost of a block follows what it touched, not the
/// size of the ledger. A 16-ary tree needs fewer hash calls than a binary one for
/// the same dirty set, and a hash call's fixed cost dominates at these sizes.
///
/// Bucket placement uses the SplitMix64 finalizer of the key — deterministic on
/// every platform and cheap; the bucket hash still commits to the full key, so
/// placement only affects balance, not what the root certifies. Zero balances
/// are not stored, so the root is a function of the balances alone.
public struct StateTree: Sendable {
    public static let bucketBits = 16
    public static let bucketCount = 1 << bucketBits
    public static let fanout = 16
    /// Levels above the buckets: 65536 → 4096 → 256 → 16 → 1.
    public static let interiorLevels = 4

    private(set) var values: [UInt64: Int64] = [:]
    private var bucketKeys: [[UInt64]]
    /// levels[0] is the root, levels[4] the bucket hashes.
    private var levels: [[SHA256Digest]]
    private var dirtyFlags: [[Bool]]
    private var dirtyLists: [[Int32]]

    public init() {
        bucketKeys = Array(repeating: [], count: Self.bucketCount)
        var levels: [[SHA256Digest]] = []
        var node = Self.bucketHash([])
        var perLevel: [SHA256Digest] = [node]
        for _ in 0..<Self.interiorLevels {
            node = Self.nodeHash(Array(repeating: node, count: Self.fanout))
            perLevel.append(node)
        }
        for level in 0...Self.interiorLevels {
            let count = 1 << (4 * level)
            levels.append(Array(repeating: perLevel[Self.interiorLevels - level], count: count))
        }
        self.levels = levels
        dirtyFlags = (0...Self.interiorLevels).map { Array(repeating: false, count: 1 << (4 * $0)) }
        dirtyLists = Array(repeating: [], count: Self.interiorLevels + 1)
    }

    public var leafCount: Int { values.count }

    @inline(__always) public static func bucket(of key: UInt64) -> Int {
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return Int(truncatingIfNeeded: z >> UInt64(64 - bucketBits))
    }

    @inline(__always) public func get(_ key: UInt64) -> Int64 { values[key] ?? 0 }

    /// Sets a leaf whose current value the caller just read as `old`.
    @inline(__always) mutating func set(_ key: UInt64, old: Int64, new: Int64) {
        let bucket = Self.bucket(of: key)
        if new == 0 {
            if old != 0 {
                values.removeValue(forKey: key)
                removeFromBucket(bucket, key)
            }
        } else {
            values[key] = new
            if old == 0 { insertIntoBucket(bucket, key) }
        }
        markDirty(bucket)
    }

    public mutating func set(_ key: UInt64, _ value: Int64) {
        set(key, old: get(key), new: value)
    }

    @inline(__always) private mutating func markDirty(_ bucket: Int) {
        if !dirtyFlags[Self.interiorLevels][bucket] {
            dirtyFlags[Self.interiorLevels][bucket] = true
            dirtyLists[Self.interiorLevels].append(Int32(bucket))
        }
    }

    private mutating func insertIntoBucket(_ bucket: Int, _ key: UInt64) {
        var low = 0
        var high = bucketKeys[bucket].count
        while low < high {
            let mid = (low + high) / 2
            if bucketKeys[bucket][mid] < key { low = mid + 1 } else { high = mid }
        }
        bucketKeys[bucket].insert(key, at: low)
    }

    private mutating func removeFromBucket(_ bucket: Int, _ key: UInt64) {
        if let index = bucketKeys[bucket].firstIndex(of: key) {
            bucketKeys[bucket].remove(at: index)
        }
    }

    /// Hash of a bucket: SHA-256(0x00 ‖ (key ‖ value)*), big-endian, keys ascending.
    static func bucketHash(_ entries: [LeafEntry]) -> SHA256Digest {
        var bytes: [UInt8] = [0]
        bytes.reserveCapacity(1 + 16 * entries.count)
        for entry in entries {
            withUnsafeBytes(of: entry.key.bigEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt64(bitPattern: entry.value).bigEndian) { bytes.append(contentsOf: $0) }
        }
        return SHA256.hash(bytes)
    }

    /// Hash of an interior node: SHA-256(0x01 ‖ 16 child digests).
    static func nodeHash(_ children: [SHA256Digest]) -> SHA256Digest {
        var buffer = [UInt8](repeating: 1, count: 1 + 32 * fanout)
        return nodeHash(children[...], into: &buffer)
    }

    @inline(__always) static func nodeHash(_ children: ArraySlice<SHA256Digest>, into buffer: inout [UInt8]) -> SHA256Digest {
        buffer.withUnsafeMutableBytes { raw in
            raw[0] = 1
            var offset = 1
            for child in children {
                raw.storeBytes(of: child.w0.bigEndian, toByteOffset: offset, as: UInt64.self)
                raw.storeBytes(of: child.w1.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
                raw.storeBytes(of: child.w2.bigEndian, toByteOffset: offset + 16, as: UInt64.self)
                raw.storeBytes(of: child.w3.bigEndian, toByteOffset: offset + 24, as: UInt64.self)
                offset += 32
            }
            return SHA256.hash(UnsafeRawBufferPointer(raw))
        }
    }

    /// Brings every dirty bucket and path up to date and returns the root.
    public mutating func root() -> SHA256Digest {
        let bucketLevel = Self.interiorLevels
        if dirtyLists[bucketLevel].isEmpty { return levels[0][0] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        for bucket32 in dirtyLists[bucketLevel] {
            let bucket = Int(bucket32)
            bytes.removeAll(keepingCapacity: true)
            bytes.append(0)
            for key in bucketKeys[bucket] {
                let value = values[key] ?? 0
                withUnsafeBytes(of: key.bigEndian) { bytes.append(contentsOf: $0) }
                withUnsafeBytes(of: UInt64(bitPattern: value).bigEndian) { bytes.append(contentsOf: $0) }
            }
            levels[bucketLevel][bucket] = SHA256.hash(bytes)
            dirtyFlags[bucketLevel][bucket] = false
            let parent = bucket >> 4
            if !dirtyFlags[bucketLevel - 1][parent] {
                dirtyFlags[bucketLevel - 1][parent] = true
                dirtyLists[bucketLevel - 1].append(Int32(parent))
            }
        }
        dirtyLists[bucketLevel].removeAll(keepingCapacity: true)
        var buffer = [UInt8](repeating: 0, count: 1 + 32 * Self.fanout)
        for level in stride(from: bucketLevel - 1, through: 0, by: -1) {
            for node32 in dirtyLists[level] {
                let node = Int(node32)
                let first = node << 4
                levels[level][node] = Self.nodeHash(levels[level + 1][first..<(first + Self.fanout)], into: &buffer)
                dirtyFlags[level][node] = false
                if level > 0 {
                    let parent = node >> 4
                    if !dirtyFlags[level - 1][parent] {
                        dirtyFlags[level - 1][parent] = true
                        dirtyLists[level - 1].append(Int32(parent))
                    }
                }
            }
            dirtyLists[level].removeAll(keepingCapacity: true)
        }
        return levels[0][0]
    }

    /// The Merkle path for one leaf (present or absent). Call after `root()`.
    public mutating func proof(for key: UInt64) -> TreeProof {
        _ = root()
        let bucket = Self.bucket(of: key)
        let entries = bucketKeys[bucket].map { LeafEntry(key: $0, value: values[$0] ?? 0) }
        var path: [[SHA256Digest]] = []
        var index = bucket
        for level in stride(from: Self.interiorLevels, through: 1, by: -1) {
            let first = (index >> 4) << 4
            path.append(Array(levels[level][first..<(first + Self.fanout)]))
            index >>= 4
        }
        return TreeProof(key: key, bucketEntries: entries, path: path)
    }

    /// Every leaf, ascending by key: the canonical order for snapshots.
    public func sortedLeaves() -> [LeafEntry] {
        values.keys.sorted().map { LeafEntry(key: $0, value: values[$0] ?? 0) }
    }

    /// Keys of all non-zero leaves of one asset (any order).
    func keys(ofAsset asset: SecurityID) -> [UInt64] {
        values.keys.filter { UInt32(truncatingIfNeeded: $0) == asset }
    }
}

/// A Merkle path from one leaf's bucket to the tree root.
public struct TreeProof: Equatable, Sendable {
    public var key: UInt64
    /// The whole bucket, ascending by key: proves presence (and value) or absence.
    public var bucketEntries: [LeafEntry]
    /// From the bucket level up: each element is the 16 children of one node.
    public var path: [[SHA256Digest]]

    /// Recomputes the tree root this proof leads to, if it shows `key` at `value`
    /// (0 meaning absent); nil if the proof is malformed or shows something else.
    public func treeRoot(value: Int64) -> SHA256Digest? {
        let bucket = StateTree.bucket(of: key)
        var previous: UInt64?
        var found: Int64 = 0
        for entry in bucketEntries {
            if let previous, entry.key <= previous { return nil }
            guard StateTree.bucket(of: entry.key) == bucket, entry.value != 0 else { return nil }
            if entry.key == key { found = entry.value }
            previous = entry.key
        }
        guard found == value, path.count == StateTree.interiorLevels else { return nil }
        var hash = StateTree.bucketHash(bucketEntries)
        var index = bucket
        for group in path {
            guard group.count == StateTree.fanout, group[index & 15] == hash else { return nil }
            hash = StateTree.nodeHash(group)
            index >>= 4
        }
        return hash
    }
}
