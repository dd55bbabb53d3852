#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replays an order file (DESIGN.md, "Order replay format") through a matching
/// engine and writes every event as CSV.
///
/// Input arrives as raw bytes in chunks of any size; parsing works on the bytes in
/// place (no `String` per field), because for a ten-million-line file the parser,
/// not the engine, would otherwise set the pace. Malformed rows become `REJECTED`
/// events that name the line and field; nothing is skipped silently.
public final class OrderReplay {
    public static let inputHeader = "seq,type,order_id,account,symbol,side,price,qty,tif"
    public static let outputHeader = "seq,event,order_id,counter_order_id,symbol,side,price,qty,reason"
    /// A longer line is malformed: it protects memory from a file with no newlines.
    public static let maximumLineLength = 4096

    public let engine: MatchingEngine
    @exclusivity(unchecked) private var symbolNames: [[UInt8]] = []
    @exclusivity(unchecked) private var lastSymbol: [UInt8] = []
    @exclusivity(unchecked) private var lastSymbolID: SymbolID = 0
    @exclusivity(unchecked) private var namedAccounts: [[UInt8]: AccountID] = [:]
    @exclusivity(unchecked) private var pending: [UInt8] = []
    @exclusivity(unchecked) private var lineNumber = 0

    /// Rows read (header excluded), and how many of them were malformed.
    @exclusivity(unchecked) public private(set) var rowCount = 0
    @exclusivity(unchecked) public private(set) var malformedCount = 0
    /// Events written, by kind.
    @exclusivity(unchecked) public private(set) var eventCounts = [Int](repeating: 0, count: 6)

    public init(engine: MatchingEngine = MatchingEngine()) {
        self.engine = engine
    }

    /// Feeds the next bytes of the file. Lines may span chunks.
    public func feed(_ chunk: UnsafeRawBufferPointer, into writer: inout EventCSVWriter) {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
        var start = 0
        var i = 0
        let count = chunk.count
        if !pending.isEmpty {
            // Finish the line the previous chunk left open.
            while i < count && base[i] != 0x0A { i += 1 }
            pending.append(contentsOf: UnsafeBufferPointer(start: base, count: i))
            if i == count {
                if pending.count > Self.maximumLineLength { flushOversizedPending(into: &writer) }
                return
            }
            // Parse in place: copying `pending` out would allocate at every chunk edge.
            pending.withUnsafeBufferPointer { processLine($0, into: &writer) }
            pending.removeAll(keepingCapacity: true)
            i += 1
            start = i
        }
        while i < count {
            if base[i] == 0x0A {
                processLine(UnsafeBufferPointer(start: base + start, count: i - start), into: &writer)
                start = i + 1
            }
            i += 1
        }
        if start < count {
            pending.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start))
            if pending.count > Self.maximumLineLength { flushOversizedPending(into: &writer) }
        }
    }

    /// Processes a last line without a newline, and writes what remains buffered.
    public func finish(into writer: inout EventCSVWriter) {
        if !pending.isEmpty {
            let line = pending
            pending.removeAll()
            line.withUnsafeBufferPointer { processLine($0, into: &writer) }
        }
        writer.flush()
    }

    /// Convenience for tests and small inputs.
    public static func replay(_ text: String, engine: MatchingEngine = MatchingEngine()) -> String {
        var output: [UInt8] = []
        var writer = EventCSVWriter { output.append(contentsOf: $0) }
        let replay = OrderReplay(engine: engine)
        var copy = text
        copy.withUTF8 { replay.feed(UnsafeRawBufferPointer($0), into: &writer) }
        replay.finish(into: &writer)
        return String(decoding: output, as: UTF8.self)
    }

    private func flushOversizedPending(into writer: inout EventCSVWriter) {
        // Keep consuming until the newline, but report the line once, as malformed.
        pending.removeAll(keepingCapacity: true)
        if skippingOversizedLine { return }
        lineNumber += 1
        rowCount += 1
        malformedCount += 1
        writeMalformed(seq: nil, orderID: nil, reason: "line \(lineNumber): longer than \(Self.maximumLineLength) bytes",
                       into: &writer)
        skippingOversizedLine = true
    }

    @exclusivity(unchecked) private var skippingOversizedLine = false

    // MARK: - Rows

    private enum RowType { case limit, market, cancel, replace, endOfDay }

    private struct Field {
        var start: Int
        var end: Int
        var isEmpty: Bool { start == end }
    }

    private struct Malformed: Error {
        var field: String
        var message: String
    }

    private func processLine(_ raw: UnsafeBufferPointer<UInt8>, into writer: inout EventCSVWriter) {
        if skippingOversizedLine {
            // The tail of a line already reported as too long.
            skippingOversizedLine = false
            return
        }
        lineNumber += 1
        var line = raw
        if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        if lineNumber == 1 && line.starts(with: "seq,".utf8) { return }
        rowCount += 1
        if line.count > Self.maximumLineLength {
            malformedCount += 1
            writeMalformed(seq: nil, orderID: nil,
                           reason: "line \(lineNumber): longer than \(Self.maximumLineLength) bytes", into: &writer)
            return
        }

        // Split into exactly nine fields, trimming spaces.
        var fields = (Field(start: 0, end: 0), Field(start: 0, end: 0), Field(start: 0, end: 0),
                      Field(start: 0, end: 0), Field(start: 0, end: 0), Field(start: 0, end: 0),
                      Field(start: 0, end: 0), Field(start: 0, end: 0), Field(start: 0, end: 0))
        var fieldCount = 0
        var fieldStart = 0
        var i = 0
        while i <= line.count {
            if i == line.count || line[i] == UInt8(ascii: ",") {
                var s = fieldStart
                var e = i
                while s < e && line[s] == 0x20 { s += 1 }
                while e > s && line[e - 1] == 0x20 { e -= 1 }
                let field = Field(start: s, end: e)
                switch fieldCount {
                case 0: fields.0 = field
                case 1: fields.1 = field
                case 2: fields.2 = field
                case 3: fields.3 = field
                case 4: fields.4 = field
                case 5: fields.5 = field
                case 6: fields.6 = field
                case 7: fields.7 = field
                case 8: fields.8 = field
                default: break
                }
                fieldCount += 1
                fieldStart = i + 1
            }
            i += 1
        }
        let seq = parseInteger(line, fields.0)
        guard fieldCount == 9 else {
            malformedCount += 1
            let reason = line.allSatisfy({ $0 == 0x20 || $0 == 0x09 })
                ? "line \(lineNumber): empty row"
                : "line \(lineNumber): expected 9 fields but found \(fieldCount)"
            writeMalformed(seq: seq, orderID: nil, reason: reason, into: &writer)
            return
        }
        do {
            try processRow(line, seq: seq, fields: fields, into: &writer)
        } catch {
            malformedCount += 1
            let orderID = parseInteger(line, fields.2).flatMap { $0 >= 0 ? UInt64($0) : nil }
            writeMalformed(seq: seq, orderID: orderID,
                           reason: "line \(lineNumber): \(error.field): \(error.message)", into: &writer)
        }
    }

    private typealias Fields = (Field, Field, Field, Field, Field, Field, Field, Field, Field)

    private func processRow(_ line: UnsafeBufferPointer<UInt8>, seq: Int64?, fields: Fields,
                            into writer: inout EventCSVWriter) throws(Malformed) {
        guard let seq else { throw fieldError(line, fields.0, "seq", "not an integer") }
        let type = try rowType(line, fields.1)
        switch type {
        case .endOfDay:
            engine.endOfDay()
            writeEvents(seq: seq, into: &writer)
            return
        case .cancel:
            let orderID = try orderIDField(line, fields.2)
            engine.cancel(orderID)
            writeEvents(seq: seq, into: &writer)
            return
        case .replace:
            let orderID = try orderIDField(line, fields.2)
            let price = try requiredInteger(line, fields.6, "price")
            let quantity = try requiredInteger(line, fields.7, "qty")
            engine.replace(orderID, price: price, quantity: quantity)
            writeEvents(seq: seq, into: &writer)
            return
        case .limit, .market:
            let orderID = try orderIDField(line, fields.2)
            let account = try accountField(line, fields.3)
            let symbol = try symbolField(line, fields.4)
            let side = try sideField(line, fields.5)
            let quantity = try requiredInteger(line, fields.7, "qty")
            let order: NewOrder
            if type == .limit {
                let price = try requiredInteger(line, fields.6, "price")
                let tif = try timeInForceField(line, fields.8)
                order = NewOrder(id: orderID, account: account, symbol: symbol, side: side, kind: .limit,
                                 price: price, quantity: quantity, timeInForce: tif)
            } else {
                // MARKET never rests; a price or time in force on the row has no meaning.
                order = NewOrder(id: orderID, account: account, symbol: symbol, side: side, kind: .market,
                                 price: 0, quantity: quantity, timeInForce: .immediateOrCancel)
            }
            engine.submit(order)
            writeEvents(seq: seq, into: &writer)
        }
    }

    private func rowType(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> RowType {
        // Length and first letter settle it; the full compare guards against look-alikes.
        switch (field.end - field.start, field.isEmpty ? 0 : line[field.start]) {
        case (7, UInt8(ascii: "R")) where Self.equals(line, field, "REPLACE"): return .replace
        case (5, UInt8(ascii: "L")) where Self.equals(line, field, "LIMIT"): return .limit
        case (6, UInt8(ascii: "C")) where Self.equals(line, field, "CANCEL"): return .cancel
        case (6, UInt8(ascii: "M")) where Self.equals(line, field, "MARKET"): return .market
        case (10, UInt8(ascii: "E")) where Self.equals(line, field, "END_OF_DAY"): return .endOfDay
        default: throw fieldError(line, field, "type", "expected LIMIT|MARKET|CANCEL|REPLACE|END_OF_DAY")
        }
    }

    private func sideField(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> Side {
        if Self.equals(line, field, "BUY") { return .buy }
        if Self.equals(line, field, "SELL") { return .sell }
        throw fieldError(line, field, "side", "expected BUY|SELL")
    }

    private func timeInForceField(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> TimeInForce {
        if field.isEmpty || Self.equals(line, field, "GTC") { return .goodTillCancel }
        if Self.equals(line, field, "IOC") { return .immediateOrCancel }
        if Self.equals(line, field, "DAY") { return .day }
        if Self.equals(line, field, "FOK") { return .fillOrKill }
        throw fieldError(line, field, "tif", "expected GTC|DAY|IOC|FOK")
    }

    @inline(__always)
    private static func equals(_ line: UnsafeBufferPointer<UInt8>, _ field: Field, _ word: StaticString) -> Bool {
        let count = field.end - field.start
        guard count == word.utf8CodeUnitCount, let base = line.baseAddress else { return false }
        return memcmp(base + field.start, word.utf8Start, count) == 0
    }

    private func orderIDField(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> OrderID {
        guard !field.isEmpty else { throw fieldError(line, field, "order_id", "missing") }
        guard let value = parseInteger(line, field), value >= 0 else {
            throw fieldError(line, field, "order_id", "not a non-negative integer")
        }
        return OrderID(value)
    }

    private func requiredInteger(_ line: UnsafeBufferPointer<UInt8>, _ field: Field,
                                 _ name: String) throws(Malformed) -> Int64 {
        guard !field.isEmpty else { throw fieldError(line, field, name, "missing") }
        guard let value = parseInteger(line, field) else {
            throw fieldError(line, field, name, "not an integer within 64 bits")
        }
        return value
    }

    /// Accounts are numbers in most files; any other name is given a number of its own.
    private func accountField(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> AccountID {
        guard !field.isEmpty else { throw fieldError(line, field, "account", "missing") }
        if let value = parseInteger(line, field), value >= 0 { return AccountID(value) }
        let bytes = Array(line[field.start..<field.end])
        guard bytes.allSatisfy(Self.isNameByte) else {
            throw fieldError(line, field, "account", "has a character other than A-Z a-z 0-9 . - _")
        }
        if let known = namedAccounts[bytes] { return known }
        let id = AccountID(1) << 63 | AccountID(namedAccounts.count)
        namedAccounts[bytes] = id
        return id
    }

    private func symbolField(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) throws(Malformed) -> SymbolID {
        let bytes = UnsafeBufferPointer(rebasing: line[field.start..<field.end])
        if !lastSymbol.isEmpty && bytes.elementsEqual(lastSymbol) { return lastSymbolID }
        guard !bytes.isEmpty else { throw fieldError(line, field, "symbol", "missing") }
        guard bytes.count <= 32, bytes.allSatisfy(Self.isNameByte) else {
            throw fieldError(line, field, "symbol", "must be 1 to 32 of A-Z a-z 0-9 . - _")
        }
        let name = String(decoding: bytes, as: UTF8.self)
        let id: SymbolID
        if let known = engine.symbolID(named: name) {
            id = known
        } else {
            // A replay lists symbols as it meets them, with unit tick and lot.
            do {
                id = try engine.addSymbol(SymbolConfiguration(symbol: name))
            } catch {
                throw fieldError(line, field, "symbol", "\(error)")
            }
        }
        while symbolNames.count <= Int(id) { symbolNames.append([]) }
        symbolNames[Int(id)] = Array(bytes)
        lastSymbol = Array(bytes)
        lastSymbolID = id
        return id
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    private func fieldError(_ line: UnsafeBufferPointer<UInt8>, _ field: Field, _ name: String,
                            _ message: String) -> Malformed {
        let raw = line[field.start..<field.end].prefix(40).map { byte -> UInt8 in
            // Keep the reason a single CSV field.
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte < 0x20 || byte > 0x7E
                ? UInt8(ascii: "?") : byte
        }
        return Malformed(field: name, message: "'\(String(decoding: raw, as: UTF8.self))' \(message)")
    }

    /// Signed decimal integer with overflow detection; nil when empty or malformed.
    @inline(__always)
    private func parseInteger(_ line: UnsafeBufferPointer<UInt8>, _ field: Field) -> Int64? {
        var i = field.start
        guard i < field.end else { return nil }
        var negative = false
        if line[i] == UInt8(ascii: "-") || line[i] == UInt8(ascii: "+") {
            negative = line[i] == UInt8(ascii: "-")
            i += 1
            guard i < field.end else { return nil }
        }
        var value: Int64 = 0
        while i < field.end {
            let digit = line[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative
                ? shifted.subtractingReportingOverflow(Int64(digit))
                : shifted.addingReportingOverflow(Int64(digit))
            guard !o1 && !o2 else { return nil }
            value = next
            i += 1
        }
        return value
    }

    // MARK: - Output

    private func writeEvents(seq: Int64, into writer: inout EventCSVWriter) {
        for event in engine.events {
            eventCounts[Int(event.kind.rawValue)] += 1
            writer.writeInteger(seq)
            writer.writeByte(UInt8(ascii: ","))
            writer.writeStatic(event.kind.csvName)
            writer.writeByte(UInt8(ascii: ","))
            writer.writeUnsigned(event.orderID)
            writer.writeByte(UInt8(ascii: ","))
            if event.kind == .trade { writer.writeUnsigned(event.counterOrderID) }
            writer.writeByte(UInt8(ascii: ","))
            // A reject of an unknown order knows no symbol or side, and a cancel
            // row carries no price or quantity.
            let unknownOrder = event.kind == .rejected && event.reason == .unknownOrder
            if !unknownOrder && Int(event.symbol) < symbolNames.count {
                writer.writeBytes(symbolNames[Int(event.symbol)])
            }
            writer.writeByte(UInt8(ascii: ","))
            if !unknownOrder { writer.writeStatic(event.side == .buy ? "BUY" : "SELL") }
            writer.writeByte(UInt8(ascii: ","))
            if event.hasPrice { writer.writeInteger(event.price) }
            writer.writeByte(UInt8(ascii: ","))
            if !(unknownOrder && !event.hasPrice) { writer.writeInteger(event.quantity) }
            writer.writeByte(UInt8(ascii: ","))
            if event.reason != .none { writer.writeStatic(event.reason.csvName) }
            writer.writeByte(0x0A)
        }
        engine.removeAllEvents()
    }

    private func writeMalformed(seq: Int64?, orderID: OrderID?, reason: String, into writer: inout EventCSVWriter) {
        eventCounts[Int(MatchEvent.Kind.rejected.rawValue)] += 1
        if let seq { writer.writeInteger(seq) }
        writer.writeString(",REJECTED,")
        if let orderID { writer.writeUnsigned(orderID) }
        writer.writeString(",,,,,,MALFORMED ")
        // The reason is one CSV field: no separators or quotes inside it.
        writer.writeString(String(reason.map { $0 == "," || $0 == "\"" || $0 == "\n" ? ";" : $0 }))
        writer.writeByte(0x0A)
    }
}

/// A buffered CSV byte writer with allocation-free integer formatting; hands full
/// buffers to `sink` (a file, stdout, or an array in tests).
public struct EventCSVWriter {
    private var buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    private let sink: (UnsafeRawBufferPointer) -> Void
    private let storage: BufferOwner

    private final class BufferOwner {
        let pointer: UnsafeMutablePointer<UInt8>
        init(capacity: Int) { pointer = .allocate(capacity: capacity) }
        deinit { pointer.deallocate() }
    }

    public init(bufferSize: Int = 1 << 20, sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        capacity = max(bufferSize, 256)
        storage = BufferOwner(capacity: capacity)
        buffer = storage.pointer
        self.sink = sink
    }

    public mutating func flush() {
        if count > 0 { sink(UnsafeRawBufferPointer(start: buffer, count: count)) }
        count = 0
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if count + n > capacity { flush() }
    }

    @inline(__always)
    public mutating func writeByte(_ byte: UInt8) {
        reserve(1)
        buffer[count] = byte
        count += 1
    }

    public mutating func writeBytes(_ bytes: [UInt8]) {
        if bytes.count > capacity {
            flush()
            bytes.withUnsafeBytes { sink($0) }
            return
        }
        reserve(bytes.count)
        bytes.withUnsafeBufferPointer { source in
            (buffer + count).update(from: source.baseAddress!, count: source.count)
        }
        count += bytes.count
    }

    @inline(__always)
    public mutating func writeStatic(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        reserve(n)
        (buffer + count).update(from: text.utf8Start, count: n)
        count += n
    }

    public mutating func writeString(_ string: String) {
        var copy = string
        copy.withUTF8 { utf8 in
            if utf8.count > capacity {
                flush()
                sink(UnsafeRawBufferPointer(utf8))
                return
            }
            reserve(utf8.count)
            if let source = utf8.baseAddress { (buffer + count).update(from: source, count: utf8.count) }
            count += utf8.count
        }
    }

    @inline(__always)
    public mutating func writeUnsigned(_ value: UInt64) {
        reserve(20)
        var digits = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                      UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                      UInt8(0), UInt8(0))
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[19 - n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            (buffer + count).update(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + 20 - n, count: n)
        }
        count += n
    }

    @inline(__always)
    public mutating func writeInteger(_ value: Int64) {
        if value < 0 {
            writeByte(UInt8(ascii: "-"))
            writeUnsigned(value.magnitude)
        } else {
            writeUnsigned(UInt64(value))
        }
    }
}
