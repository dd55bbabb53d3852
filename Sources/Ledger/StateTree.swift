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
    /// 2^16 buckets suit about a million balances; a chain sizes its tree in
    /// genesis (`stateTreeBucketBits`), fixed for its life since it shapes the root.
    public static let defaultBucketBits = 16
    public static func isValid(bucketBits: Int) -> Bool { bucketBits >= 8 && bucketBits <= 20 && bucketBits % 4 == 0 }
    public static let fanout = 16

    public let bucketBits: Int
    var bucketCount: Int { 1 << bucketBits }
    /// Levels above the buckets, e.g. for 2^16: 65536 → 4096 → 256 → 16 → 1.
    public var interiorLevels: Int { bucketBits / 4 }
    /// Where each level starts in the flat node array (root first, buckets last).
    private let levelOffset: [Int]

    /// The balances themselves: each bucket's leaves, ascending by key. The
    /// buckets double as the hash table, so hashing a bucket reads its leaves
    /// directly and a balance lookup is one small search.
    private var buckets: [[LeafEntry]]
    public private(set) var leafCount = 0
    /// One bit per non-empty bucket, so walks over all leaves skip empty buckets
    /// 64 at a time.
    private var occupied: [UInt64]
    private var nodes: [SHA256Digest]
    private var dirty: [Bool]
    private var dirtyLists: [[Int32]]

    /// `bucketBits` must satisfy `isValid(bucketBits:)` (genesis validation checks it).
    public init(bucketBits: Int = StateTree.defaultBucketBits) {
        precondition(Self.isValid(bucketBits: bucketBits), "state tree bucket bits \(bucketBits)")
        self.bucketBits = bucketBits
        var offsets: [Int] = []
        var total = 0
        for level in 0...(bucketBits / 4) {
            offsets.append(total)
            total += 1 << (4 * level)
        }
        levelOffset = offsets
        occupied = [UInt64](repeating: 0, count: max(1, (1 << bucketBits) / 64))
        buckets = Array(repeating: [], count: 1 << bucketBits)
        let interiorLevels = bucketBits / 4
        var perLevel: [SHA256Digest] = [Self.bucketHash([])]
        for _ in 0..<interiorLevels {
            perLevel.append(Self.nodeHash(Array(repeating: perLevel[perLevel.count - 1], count: Self.fanout)))
        }
        var nodes: [SHA256Digest] = []
        nodes.reserveCapacity(total)
        for level in 0...interiorLevels {
            nodes.append(contentsOf: repeatElement(perLevel[interiorLevels - level], count: 1 << (4 * level)))
        }
        self.nodes = nodes
        dirty = Array(repeating: false, count: total)
        dirtyLists = Array(repeating: [], count: interiorLevels + 1)
    }

    @inline(__always) public static func bucket(of key: UInt64, bits: Int) -> Int {
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return Int(truncatingIfNeeded: z >> UInt64(64 - bits))
    }

    /// Lower bound of `key` in a bucket: (present, index of it or of its successor).
    @inline(__always) private static func search(_ entries: [LeafEntry], _ key: UInt64) -> (Bool, Int) {
        entries.withUnsafeBufferPointer { e in
            var low = 0
            var high = e.count
            while low < high {
                let mid = (low + high) >> 1
                if e[mid].key < key { low = mid + 1 } else { high = mid }
            }
            return (low < e.count && e[low].key == key, low)
        }
    }

    @inline(__always) public func get(_ key: UInt64) -> Int64 {
        let bucket = Self.bucket(of: key, bits: bucketBits)
        let (found, index) = Self.search(buckets[bucket], key)
        return found ? buckets[bucket][index].value : 0
    }

    /// Sets a leaf; 0 removes it.
    @inline(__always) public mutating func set(_ key: UInt64, _ value: Int64) {
        let bucket = Self.bucket(of: key, bits: bucketBits)
        let (found, index) = Self.search(buckets[bucket], key)
        if value == 0 {
            guard found else { return }
            buckets[bucket].remove(at: index)
            leafCount -= 1
            if buckets[bucket].isEmpty { occupied[bucket >> 6] &= ~(1 << UInt64(bucket & 63)) }
        } else if found {
            buckets[bucket][index].value = value
        } else {
            buckets[bucket].insert(LeafEntry(key: key, value: value), at: index)
            leafCount += 1
            occupied[bucket >> 6] |= 1 << UInt64(bucket & 63)
        }
        let node = levelOffset[interiorLevels] + bucket
        if !dirty[node] {
            dirty[node] = true
            dirtyLists[interiorLevels].append(Int32(bucket))
        }
    }

    /// Hash of a bucket: SHA-256(0x00 ‖ (key ‖ value)*), big-endian, keys ascending.
    static func bucketHash(_ entries: [LeafEntry]) -> SHA256Digest {
        var bytes: [UInt8] = []
        return bucketHash(entries, into: &bytes, hasher: SHA256Hasher())
    }

    @inline(__always) static func bucketHash(_ entries: [LeafEntry], into bytes: inout [UInt8], hasher: SHA256Hasher) -> SHA256Digest {
        let count = 1 + 16 * entries.count
        if bytes.count < count { bytes = [UInt8](repeating: 0, count: max(count, 2 * bytes.count)) }
        return bytes.withUnsafeMutableBytes { raw in
            raw[0] = 0
            var offset = 1
            for entry in entries {
                raw.storeBytes(of: entry.key.bigEndian, toByteOffset: offset, as: UInt64.self)
                raw.storeBytes(of: UInt64(bitPattern: entry.value).bigEndian, toByteOffset: offset + 8, as: UInt64.self)
                offset += 16
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            return hasher.finalize()
        }
    }

    /// Hash of an interior node: SHA-256(0x01 ‖ 16 child digests).
    static func nodeHash(_ children: [SHA256Digest]) -> SHA256Digest {
        var buffer = [UInt8](repeating: 1, count: 1 + 32 * fanout)
        return children.withUnsafeBufferPointer { nodeHash($0, into: &buffer, hasher: SHA256Hasher()) }
    }

    @inline(__always) static func nodeHash(_ children: UnsafeBufferPointer<SHA256Digest>, into buffer: inout [UInt8],
                                           hasher: SHA256Hasher) -> SHA256Digest {
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
            hasher.update(UnsafeRawBufferPointer(raw))
            return hasher.finalize()
        }
    }

    /// Brings every dirty bucket and path up to date and returns the root.
    public mutating func root() -> SHA256Digest {
        let bucketLevel = interiorLevels
        if dirtyLists[bucketLevel].isEmpty { return nodes[0] }
        let hasher = SHA256Hasher()
        let levelOffset = self.levelOffset // a local copy: `self` is borrowed by the buffers below
        var bytes = [UInt8](repeating: 0, count: 1024)
        var buffer = [UInt8](repeating: 0, count: 1 + 32 * Self.fanout)
        let lists = dirtyLists
        dirtyLists = Array(repeating: [], count: interiorLevels + 1)
        var pending = lists[bucketLevel]
        buckets.withUnsafeBufferPointer { buckets in
            nodes.withUnsafeMutableBufferPointer { nodes in
                dirty.withUnsafeMutableBufferPointer { dirty in
                    for level in stride(from: bucketLevel, through: 0, by: -1) {
                        let base = levelOffset[level]
                        var parents: [Int32] = []
                        parents.reserveCapacity(min(pending.count, 1 << (4 * max(0, level - 1))))
                        for index32 in pending {
                            let index = Int(index32)
                            if level == bucketLevel {
                                nodes[base + index] = Self.bucketHash(buckets[index], into: &bytes, hasher: hasher)
                            } else {
                                let first = levelOffset[level + 1] + (index << 4)
                                nodes[base + index] = Self.nodeHash(UnsafeBufferPointer(rebasing: nodes[first..<(first + Self.fanout)]),
                                                                   into: &buffer, hasher: hasher)
                            }
                            dirty[base + index] = false
                            if level > 0 {
                                let parent = index >> 4
                                let parentNode = levelOffset[level - 1] + parent
                                if !dirty[parentNode] {
                                    dirty[parentNode] = true
                                    parents.append(Int32(parent))
                                }
                            }
                        }
                        pending = parents
                    }
                }
            }
        }
        return nodes[0]
    }

    /// The Merkle path for one leaf (present or absent).
    public mutating func proof(for key: UInt64) -> TreeProof {
        _ = root()
        let bucket = Self.bucket(of: key, bits: bucketBits)
        var path: [[SHA256Digest]] = []
        var index = bucket
        for level in stride(from: interiorLevels, through: 1, by: -1) {
            let first = levelOffset[level] + ((index >> 4) << 4)
            path.append(Array(nodes[first..<(first + Self.fanout)]))
            index >>= 4
        }
        return TreeProof(key: key, bucketBits: bucketBits, bucketEntries: buckets[bucket], path: path)
    }

    /// Calls `body` with every leaf, in bucket order (not key order).
    public func forEachLeaf(_ body: (LeafEntry) throws -> Void) rethrows {
        for (wordIndex, word) in occupied.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let bucket = wordIndex << 6 + bits.trailingZeroBitCount
                bits &= bits - 1
                for entry in buckets[bucket] { try body(entry) }
            }
        }
    }

    /// Every leaf, ascending by key: the canonical order for snapshots.
    public func sortedLeaves() -> [LeafEntry] {
        var all: [LeafEntry] = []
        all.reserveCapacity(leafCount)
        forEachLeaf { all.append($0) }
        all.sort { $0.key < $1.key }
        return all
    }

    /// Keys of all non-zero leaves of one asset (any order).
    func keys(ofAsset asset: SecurityID) -> [UInt64] {
        var keys: [UInt64] = []
        forEachLeaf { if UInt32(truncatingIfNeeded: $0.key) == asset { keys.append($0.key) } }
        return keys
    }
}

/// A Merkle path from one leaf's bucket to the tree root.
public struct TreeProof: Equatable, Sendable {
    public var key: UInt64
    /// The tree's size, from genesis: which bucket the key falls in.
    public var bucketBits: Int
    /// The whole bucket, ascending by key: proves presence (and value) or absence.
    public var bucketEntries: [LeafEntry]
    /// From the bucket level up: each element is the 16 children of one node.
    public var path: [[SHA256Digest]]

    public init(key: UInt64, bucketBits: Int, bucketEntries: [LeafEntry], path: [[SHA256Digest]]) {
        self.key = key
        self.bucketBits = bucketBits
        self.bucketEntries = bucketEntries
        self.path = path
    }

    /// Recomputes the tree root this proof leads to, if it shows `key` at `value`
    /// (0 meaning absent); nil if the proof is malformed or shows something else.
    public func treeRoot(value: Int64) -> SHA256Digest? {
        guard StateTree.isValid(bucketBits: bucketBits) else { return nil }
        let bucket = StateTree.bucket(of: key, bits: bucketBits)
        var previous: UInt64?
        var found: Int64 = 0
        for entry in bucketEntries {
            if let previous, entry.key <= previous { return nil }
            guard StateTree.bucket(of: entry.key, bits: bucketBits) == bucket, entry.value != 0 else { return nil }
            if entry.key == key { found = entry.value }
            previous = entry.key
        }
        guard found == value, path.count == bucketBits / 4 else { return nil }
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
