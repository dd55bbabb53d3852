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

/// The price levels of one side of a book.
///
/// Levels near the market sit in a ladder: an array indexed by price − base,
/// with a bitmap of occupied prices, so finding, adding and removing a level is
/// O(1) and the next best level is a bit scan away. Exchange-core's flow moves
/// orders between ~750 levels all day; a sorted array would shift hundreds of
/// entries per move. The ladder grows to cover new prices up to
/// `maximumLadderSpan` ticks; levels beyond that (a stray price far from the
/// rest) live in `far`, a sorted array, and the best level is the better of the
/// two. Growing the ladder adopts any far levels it now covers, so one price
/// never has two levels.
struct BookSide {
    static let maximumLadderSpan = 1 << 16
    static let initialLadderSpan = 1 << 10

    let isBid: Bool
    private(set) var far: SortedLevels
    private var base: Int64 = 0
    private var span: Int
    private var slots: UnsafeMutablePointer<Int32>
    private var bits: UnsafeMutablePointer<UInt64>
    private var ladderCount = 0
    /// Ladder index of the best level, or -1.
    private var bestIndex = -1

    init(isBid: Bool) {
        self.isBid = isBid
        far = SortedLevels(isBid: isBid)
        span = Self.initialLadderSpan
        slots = .allocate(capacity: span)
        slots.initialize(repeating: -1, count: span)
        bits = .allocate(capacity: span / 64)
        bits.initialize(repeating: 0, count: span / 64)
    }

    func deallocate() {
        far.deallocate()
        slots.deallocate()
        bits.deallocate()
    }

    var count: Int { ladderCount + far.count }

    /// True when `a` is a better price than `b` for this side.
    @inline(__always)
    func isBetter(_ a: Int64, than b: Int64) -> Bool { isBid ? a > b : a < b }

    @inline(__always)
    private func ladderIndex(_ price: Int64) -> Int? {
        guard price >= base else { return nil }
        let offset = price &- base
        return offset < Int64(span) ? Int(offset) : nil
    }

    /// The best level (highest bid, lowest ask), or -1 when the side is empty.
    @inline(__always)
    var bestLevel: Int32 {
        if far.count == 0 { return bestIndex >= 0 ? slots[bestIndex] : -1 }
        let farLevel = far.bestLevel
        guard bestIndex >= 0 else { return farLevel }
        let farPrice = isBid ? far.bestKey : -far.bestKey
        return isBetter(farPrice, than: base + Int64(bestIndex)) ? farLevel : slots[bestIndex]
    }

    @inline(__always)
    func level(atPrice price: Int64) -> Int32 {
        if let index = ladderIndex(price), slots[index] >= 0 { return slots[index] }
        return far.count == 0 ? -1 : far.level(atPrice: price)
    }

    /// Adds a level at `price`, which must have none.
    mutating func insert(price: Int64, level: Int32) {
        var index = ladderIndex(price)
        if index == nil && cover(price) { index = ladderIndex(price) }
        guard let index else {
            let (position, _) = far.position(ofKey: far.key(for: price))
            far.insert(at: position, key: far.key(for: price), level: level)
            return
        }
        slots[index] = level
        bits[index >> 6] |= 1 << UInt64(index & 63)
        ladderCount += 1
        if bestIndex < 0 || (isBid ? index > bestIndex : index < bestIndex) { bestIndex = index }
    }

    /// Removes the level at `price`.
    mutating func remove(price: Int64) {
        if let index = ladderIndex(price), slots[index] >= 0 {
            removeFromLadder(index)
        } else {
            let (position, found) = far.position(ofKey: far.key(for: price))
            if found { far.remove(at: position) }
        }
    }

    /// Removes the best level (the one `bestLevel` names).
    @inline(__always)
    mutating func removeBest() {
        if far.count > 0 {
            let farPrice = isBid ? far.bestKey : -far.bestKey
            if bestIndex < 0 || isBetter(farPrice, than: base + Int64(bestIndex)) {
                far.removeBest()
                return
            }
        }
        removeFromLadder(bestIndex)
    }

    @inline(__always)
    private mutating func removeFromLadder(_ index: Int) {
        slots[index] = -1
        bits[index >> 6] &= ~(1 << UInt64(index & 63))
        ladderCount -= 1
        if index == bestIndex { bestIndex = ladderCount == 0 ? -1 : nextOccupied(worseThan: index) }
    }

    /// The next occupied ladder index on the worse side of `index`, or -1.
    @inline(__always)
    private func nextOccupied(worseThan index: Int) -> Int {
        if isBid {
            // Worse bids are lower prices: scan down.
            var word = index >> 6
            var mask = index & 63 == 0 ? 0 : bits[word] & ((1 << UInt64(index & 63)) - 1)
            while true {
                if mask != 0 { return word << 6 + (63 - mask.leadingZeroBitCount) }
                word -= 1
                if word < 0 { return -1 }
                mask = bits[word]
            }
        } else {
            var word = index >> 6
            let shift = UInt64(index & 63) + 1
            var mask = shift == 64 ? 0 : bits[word] & ~((1 << shift) - 1)
            let words = span >> 6
            while true {
                if mask != 0 { return word << 6 + mask.trailingZeroBitCount }
                word += 1
                if word >= words { return -1 }
                mask = bits[word]
            }
        }
    }

    /// Grows or moves the ladder so that it covers `price`, if the span allows;
    /// adopts the far levels it then covers.
    private mutating func cover(_ price: Int64) -> Bool {
        guard price > 0 else { return false }
        if ladderCount == 0 {
            // Empty: re-centre on the new price without copying anything.
            base = max(0, price - Int64(span / 2))
            bestIndex = -1
            adoptFarLevels()
            return true
        }
        let low = min(base, price)
        let (top, overflow) = base.addingReportingOverflow(Int64(span) - 1)
        guard !overflow else { return false }
        let (width, o2) = max(top, price).subtractingReportingOverflow(low)
        guard !o2, width < Int64(Self.maximumLadderSpan) else { return false }
        var newSpan = span
        while Int64(newSpan) <= width + width / 2 && newSpan < Self.maximumLadderSpan { newSpan <<= 1 }
        let slack = Int64(newSpan) - (width + 1)
        let newBase = max(0, low - slack / 2)
        let shift = Int(base - newBase)
        let newSlots = UnsafeMutablePointer<Int32>.allocate(capacity: newSpan)
        newSlots.initialize(repeating: -1, count: newSpan)
        let newBits = UnsafeMutablePointer<UInt64>.allocate(capacity: newSpan / 64)
        newBits.initialize(repeating: 0, count: newSpan / 64)
        for index in 0..<span where slots[index] >= 0 {
            let moved = index + shift
            newSlots[moved] = slots[index]
            newBits[moved >> 6] |= 1 << UInt64(moved & 63)
        }
        slots.deallocate()
        bits.deallocate()
        slots = newSlots
        bits = newBits
        if bestIndex >= 0 { bestIndex += shift }
        base = newBase
        span = newSpan
        adoptFarLevels()
        return true
    }

    /// Moves far levels that the ladder now covers into it.
    private mutating func adoptFarLevels() {
        guard far.count > 0 else { return }
        var i = far.count - 1
        while i >= 0 {
            let price = isBid ? far.keys[i] : -far.keys[i]
            if let index = ladderIndex(price) {
                let level = far.levels[i]
                far.remove(at: i)
                slots[index] = level
                bits[index >> 6] |= 1 << UInt64(index & 63)
                ladderCount += 1
                if bestIndex < 0 || (isBid ? index > bestIndex : index < bestIndex) { bestIndex = index }
            }
            i -= 1
        }
    }

    /// Calls `body` with each level from best to worst until it returns false;
    /// allocates nothing (fill-or-kill checks run it on the order path).
    @inline(__always)
    func forEachLevelBestFirst(_ body: (Int32) -> Bool) {
        var ladder = bestIndex
        var farPosition = far.count - 1
        while ladder >= 0 || farPosition >= 0 {
            let takeFar: Bool
            if ladder < 0 {
                takeFar = true
            } else if farPosition < 0 {
                takeFar = false
            } else {
                let farPrice = isBid ? far.keys[farPosition] : -far.keys[farPosition]
                takeFar = isBetter(farPrice, than: base + Int64(ladder))
            }
            if takeFar {
                if !body(far.levels[farPosition]) { return }
                farPosition -= 1
            } else {
                if !body(slots[ladder]) { return }
                ladder = nextOccupied(worseThan: ladder)
            }
        }
    }
}

/// Price levels kept sorted by a key that grows toward the best price (bids:
/// price, asks: −price), so the best level is always last. `BookSide` keeps here
/// only the levels its price ladder cannot cover (prices far from the rest).
struct SortedLevels {
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

    /// Key of the best level; only when not empty.
    @inline(__always)
    var bestKey: Int64 { keys[count - 1] }

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
