/// A resting order inside the engine's pool. Slots are reused through a free
/// list, so a steady flow of orders allocates nothing.
struct OrderRecord {
    var id: OrderID
    var account: AccountID
    var price: Int64
    var remaining: Int64
    /// Neighbours in the price level's FIFO queue (-1: none); `next` doubles as the
    /// free-list link while the slot is free.
    var prev: Int32
    var next: Int32
    var level: Int32
    var symbol: SymbolID
    var side: Side
    var timeInForce: TimeInForce
    var live: Bool
}

/// One price level: a FIFO queue of orders at the same price (time priority).
struct LevelRecord {
    var price: Int64
    var totalQuantity: Int64
    var head: Int32
    var tail: Int32
    var orderCount: Int32
}

/// A growable array of plain values in manually managed memory, addressed by
/// Int32 slot, with a free list. Copying the struct copies the pointer, not the
/// storage: exactly one owner (the engine) may call `deallocate`.
struct SlotPool<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var capacity: Int
    /// Slots `0..<highWater` have been handed out at least once.
    private(set) var highWater: Int = 0
    private var freeList: [Int32] = []
    private(set) var liveCount: Int = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        freeList.reserveCapacity(self.capacity)
    }

    func deallocate() { base.deallocate() }

    @inline(__always)
    subscript(slot: Int32) -> Element {
        unsafeAddress { UnsafePointer(base + Int(slot)) }
        nonmutating unsafeMutableAddress { base + Int(slot) }
    }

    @inline(__always)
    mutating func allocate(_ value: Element) -> Int32 {
        liveCount += 1
        if let slot = freeList.popLast() {
            (base + Int(slot)).initialize(to: value)
            return slot
        }
        if highWater == capacity { grow() }
        let slot = Int32(highWater)
        highWater += 1
        (base + Int(slot)).initialize(to: value)
        return slot
    }

    @inline(__always)
    mutating func free(_ slot: Int32) {
        liveCount -= 1
        freeList.append(slot)
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        precondition(newCapacity <= Int(Int32.max), "matching engine pool exceeds 2^31 slots")
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: highWater)
        base.deallocate()
        base = newBase
        capacity = newCapacity
        freeList.reserveCapacity(newCapacity)
    }
}

/// The price levels of one side of a book, kept sorted by a key that grows toward
/// the best price (bids: price, asks: −price), so the best level is always last.
/// Most activity is near the top of the book, so inserts and removes move few
/// elements and the search starts from the end.
struct BookSide {
    private(set) var keys: UnsafeMutablePointer<Int64>
    private(set) var levels: UnsafeMutablePointer<Int32>
    private(set) var count: Int = 0
    private var capacity: Int
    let isBid: Bool

    init(isBid: Bool) {
        self.isBid = isBid
        capacity = 64
        keys = .allocate(capacity: capacity)
        levels = .allocate(capacity: capacity)
    }

    func deallocate() {
        keys.deallocate()
        levels.deallocate()
    }

    @inline(__always)
    func key(for price: Int64) -> Int64 { isBid ? price : -price }

    /// The level that is best (highest bid, lowest ask), or -1 when empty.
    @inline(__always)
    var bestLevel: Int32 { count > 0 ? levels[count - 1] : -1 }

    /// Where `key` is or would be inserted.
    @inline(__always)
    func position(ofKey key: Int64) -> (index: Int, found: Bool) {
        // Near the top first: that is where nearly every order lands.
        var i = count - 1
        let stop = max(count - 8, 0)
        while i >= stop {
            let k = keys[i]
            if k == key { return (i, true) }
            if k < key { return (i + 1, false) }
            i -= 1
        }
        var low = 0
        var high = stop
        while low < high {
            let mid = (low + high) >> 1
            let k = keys[mid]
            if k == key { return (mid, true) }
            if k < key { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    @inline(__always)
    func level(atPrice price: Int64) -> Int32 {
        let (index, found) = position(ofKey: key(for: price))
        return found ? levels[index] : -1
    }

    mutating func insert(at index: Int, key: Int64, level: Int32) {
        if count == capacity { grow() }
        let tail = count - index
        if tail > 0 {
            (keys + index + 1).moveInitialize(from: keys + index, count: tail)
            (levels + index + 1).moveInitialize(from: levels + index, count: tail)
        }
        keys[index] = key
        levels[index] = level
        count += 1
    }

    mutating func remove(at index: Int) {
        let tail = count - index - 1
        if tail > 0 {
            (keys + index).moveInitialize(from: keys + index + 1, count: tail)
            (levels + index).moveInitialize(from: levels + index + 1, count: tail)
        }
        count -= 1
    }

    @inline(__always)
    mutating func removeBest() { count -= 1 }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newKeys = UnsafeMutablePointer<Int64>.allocate(capacity: newCapacity)
        let newLevels = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        newKeys.moveInitialize(from: keys, count: count)
        newLevels.moveInitialize(from: levels, count: count)
        keys.deallocate()
        levels.deallocate()
        keys = newKeys
        levels = newLevels
        capacity = newCapacity
    }
}

/// Both sides of one symbol's book.
struct Book {
    var bids: BookSide
    var asks: BookSide

    init() {
        bids = BookSide(isBid: true)
        asks = BookSide(isBid: false)
    }

    func deallocate() {
        bids.deallocate()
        asks.deallocate()
    }
}
