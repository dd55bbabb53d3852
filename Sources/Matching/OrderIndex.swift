/// An open-addressing hash map from order id to pool slot: the only hashed lookup
/// the engine makes per command (cancel, replace, duplicate check).
///
/// Linear probing with backward-shift deletion keeps probe chains short without
/// tombstones; the mixer (a 64-bit finalizer) spreads sequential ids, which is what
/// an exchange assigns. Swift's `Dictionary` hashes with SipHash and checks
/// uniqueness on every write, several times the cost of this on the hot path.
struct OrderIndex: ~Copyable {
    private var keys: UnsafeMutablePointer<UInt64>
    /// -1 marks an empty bucket, so every key value is usable.
    private var values: UnsafeMutablePointer<Int32>
    private var mask: Int
    private(set) var count: Int = 0

    init(minimumCapacity: Int = 1024) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        keys = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: -1, count: capacity)
        keys.initialize(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    var capacity: Int { mask + 1 }

    @inline(__always)
    static func mix(_ key: UInt64) -> UInt64 {
        var x = key &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }

    @inline(__always)
    func find(_ key: UInt64) -> Int32? {
        var index = Int(truncatingIfNeeded: Self.mix(key)) & mask
        while true {
            let value = values[index]
            if value < 0 { return nil }
            if keys[index] == key { return value }
            index = (index + 1) & mask
        }
    }

    /// Inserts or overwrites.
    @inline(__always)
    mutating func set(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > capacity { grow() }
        var index = Int(truncatingIfNeeded: Self.mix(key)) & mask
        while true {
            if values[index] < 0 {
                keys[index] = key
                values[index] = value
                count += 1
                return
            }
            if keys[index] == key {
                values[index] = value
                return
            }
            index = (index + 1) & mask
        }
    }

    /// Removes `key` if present; returns its value.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Int32? {
        var index = Int(truncatingIfNeeded: Self.mix(key)) & mask
        while true {
            let value = values[index]
            if value < 0 { return nil }
            if keys[index] == key { break }
            index = (index + 1) & mask
        }
        let removed = values[index]
        // Backward-shift: pull later members of the probe chain into the hole so
        // that lookups never need tombstones.
        var hole = index
        var next = (hole + 1) & mask
        while values[next] >= 0 {
            let home = Int(truncatingIfNeeded: Self.mix(keys[next])) & mask
            // Move `next` into `hole` when its home is not cyclically in (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext {
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        values[hole] = -1
        count -= 1
        return removed
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let oldCapacity = capacity
        let newCapacity = oldCapacity * 2
        keys = .allocate(capacity: newCapacity)
        values = .allocate(capacity: newCapacity)
        keys.initialize(repeating: 0, count: newCapacity)
        values.initialize(repeating: -1, count: newCapacity)
        mask = newCapacity - 1
        count = 0
        for i in 0..<oldCapacity where oldValues[i] >= 0 {
            set(oldKeys[i], oldValues[i])
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}

/// Every order id the engine has ever accepted, so that a reused id is rejected
/// even after its order is gone.
///
/// Ids an exchange assigns are dense, so they go into 4096-bit pages: one bit per
/// id, flat memory over a trading day. Ids too sparse to fill pages (a replay file
/// with random 64-bit ids) fall back to a hash set, so memory stays bounded by the
/// number of ids either way.
struct OrderIDHistory: ~Copyable {
    private static let pageShift = 12
    private static let wordsPerPage = (1 << pageShift) / 64

    private var pages = OrderIndex(minimumCapacity: 64)
    private var words: UnsafeMutablePointer<UInt64>
    private var pageCapacity: Int
    private var pageCount: Int = 0
    private var sparse = OrderIndex(minimumCapacity: 64)
    private var lastPage: UInt64 = .max
    private var lastPageIndex: Int = -1
    private(set) var count: Int = 0

    /// `expectedIDs` sizes the bitmap up front (one bit per id), so that a trading
    /// day with dense ids never grows it while orders are being matched.
    init(expectedIDs: Int = 1 << 22) {
        pageCapacity = max(16, expectedIDs >> Self.pageShift)
        words = .allocate(capacity: pageCapacity * Self.wordsPerPage)
        pages = OrderIndex(minimumCapacity: pageCapacity)
    }

    deinit { words.deallocate() }

    @inline(__always)
    private mutating func pageIndex(_ page: UInt64) -> Int? {
        if page == lastPage { return lastPageIndex }
        guard let index = pages.find(page) else { return nil }
        lastPage = page
        lastPageIndex = Int(index)
        return lastPageIndex
    }

    @inline(__always)
    mutating func contains(_ id: OrderID) -> Bool {
        if let index = pageIndex(id >> UInt64(Self.pageShift)) {
            let bit = Int(id & UInt64((1 << Self.pageShift) - 1))
            if words[index * Self.wordsPerPage + bit >> 6] & (1 << UInt64(bit & 63)) != 0 { return true }
            // The id may predate its page, from when pages were too sparse to add.
            return sparse.count > 0 && sparse.find(id) != nil
        }
        return sparse.count > 0 && sparse.find(id) != nil
    }

    /// Records `id`; the caller has checked `contains` first.
    @inline(__always)
    mutating func insert(_ id: OrderID) {
        count += 1
        let page = id >> UInt64(Self.pageShift)
        var index = pageIndex(page)
        if index == nil, pageCount < 16 || pageCount * 32 <= count {
            index = addPage(page)
        }
        if let index {
            let bit = Int(id & UInt64((1 << Self.pageShift) - 1))
            words[index * Self.wordsPerPage + bit >> 6] |= 1 << UInt64(bit & 63)
        } else {
            sparse.set(id, 0)
        }
    }

    private mutating func addPage(_ page: UInt64) -> Int {
        if pageCount == pageCapacity {
            let newCapacity = pageCapacity * 2
            let newWords = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity * Self.wordsPerPage)
            newWords.moveInitialize(from: words, count: pageCount * Self.wordsPerPage)
            words.deallocate()
            words = newWords
            pageCapacity = newCapacity
        }
        let index = pageCount
        pageCount += 1
        (words + index * Self.wordsPerPage).initialize(repeating: 0, count: Self.wordsPerPage)
        pages.set(page, Int32(index))
        lastPage = page
        lastPageIndex = index
        // Ids that went to the sparse set earlier stay there; lookups check both.
        return index
    }
}
