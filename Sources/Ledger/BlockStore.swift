#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Append-only record log in segment files.
///
/// Segment: 8-byte magic `CLSEG001`, then records `length (UInt32 BE) ‖ CRC32C of
/// payload (UInt32 BE) ‖ payload`. `append` returns after `fsync`, so a record
/// it returned for survives a crash; `append(batch:)` is the group commit — many
/// records, one fsync. At open every record is checked; a bad record at the end
/// of the last segment is a write torn by a crash and is cut off (ftruncate);
/// a bad record anywhere else is corruption and refuses to open. The index by
/// position (record i holds height i + 1) is rebuilt by that scan.
public final class BlockStore {
    public let directory: String
    public let segmentLimit: Int
    static let magic: [UInt8] = Array("CLSEG001".utf8)
    static let maxRecordBytes = CodecLimits.maxBlockBytes + (1 << 20)

    private struct Location {
        var segment: Int
        var offset: Int
        var length: Int
    }

    /// Nil for a read-only store, which never takes the directory lock.
    private let lock: DirectoryLock?
    /// A read-only store (a mirror or an auditor beside a running node) never
    /// writes: it takes no lock, cuts no torn tail (it stops before it, since
    /// the writer may be finishing that very record) and refuses `append`.
    public let readOnly: Bool
    private var segmentPaths: [String] = []
    private var index: [Location] = []
    private var writeFD: Int32 = -1
    private var writeOffset = 0
    /// Bytes cut off the tail at open (a torn write), for logs and tests.
    public private(set) var truncatedBytes = 0
    /// Crash tests only: write each frame in pieces of this size, pausing between
    /// them, so that a SIGKILL can land in the middle of a record.
    public var tornWriteSimulation: (chunkBytes: Int, pauseMicroseconds: UInt32)?

    public init(directory: String, segmentLimit: Int = 64 << 20, readOnly: Bool = false) throws(StoreError) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        self.readOnly = readOnly
        if readOnly {
            guard FileIO.exists(directory) else { throw StoreError(path: directory, reason: "no such block store directory") }
            lock = nil
        } else {
            try FileIO.makeDirectory(directory)
            lock = try DirectoryLock(directory: directory)
        }
        let names = try FileIO.list(directory).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        for (i, name) in names.enumerated() {
            let path = directory + "/" + name
            try scan(path: path, segment: i, isLast: i == names.count - 1)
            segmentPaths.append(path)
        }
        if readOnly { return }
        if segmentPaths.isEmpty {
            try startSegment()
        } else {
            let path = segmentPaths[segmentPaths.count - 1]
            writeFD = open(path, O_RDWR)
            guard writeFD >= 0 else { throw .errno(path, "open") }
            writeOffset = try FileIO.size(path)
        }
    }

    deinit { if writeFD >= 0 { close(writeFD) } }

    public var count: Int { index.count }

    private func scan(path: String, segment: Int, isLast: Bool) throws(StoreError) {
        let bytes = try FileIO.readAll(path)
        var offset = 0
        var torn: String?
        if bytes.count < 8 || Array(bytes[0..<8]) != Self.magic {
            if isLast && bytes.count < 8 && Self.magic.starts(with: bytes) {
                torn = "segment header"
            } else {
                throw StoreError(path: path, reason: "not a segment file (bad magic)")
            }
        } else {
            offset = 8
            while offset < bytes.count {
                guard bytes.count - offset >= 8 else { torn = "record header at \(offset)"; break }
                let length = Int(readU32(bytes, offset))
                let crc = readU32(bytes, offset + 4)
                guard length <= Self.maxRecordBytes, bytes.count - offset - 8 >= length else {
                    torn = "record at \(offset) (length \(length))"; break
                }
                let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(offset + 8)..<(offset + 8 + length)])) }
                guard actual == crc else { torn = "record at \(offset) (CRC mismatch)"; break }
                index.append(Location(segment: segment, offset: offset + 8, length: length))
                offset += 8 + length
            }
        }
        guard let torn else { return }
        guard isLast else { throw StoreError(path: path, reason: "corrupt \(torn) in a sealed segment") }
        // A reader sees the records before the tail and leaves the tail to the writer.
        if readOnly { return }
        // A crash tore the last write: cut it off so appends continue from a clean end.
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw .errno(path, "open") }
        defer { close(fd) }
        truncatedBytes += bytes.count - offset
        guard ftruncate(fd, off_t(offset)) == 0 else { throw .errno(path, "ftruncate") }
        if offset == 0 { try FileIO.write(fd, path: path, Self.magic, at: 0) }
        try FileIO.sync(fd, path: path)
    }

    private func readU32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    private func startSegment() throws(StoreError) {
        if writeFD >= 0 { close(writeFD); writeFD = -1 }
        let path = directory + "/segment-" + FileIO.padded(UInt64(segmentPaths.count), width: 8) + ".log"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .errno(path, "open") }
        writeFD = fd
        try FileIO.write(fd, path: path, Self.magic, at: 0)
        try FileIO.sync(fd, path: path)
        try FileIO.syncDirectory(directory)
        segmentPaths.append(path)
        writeOffset = Self.magic.count
    }

    public func append(_ payload: [UInt8]) throws(StoreError) {
        try append(batch: [payload])
    }

    /// Writes all records, then one fsync: the group commit.
    public func append(batch payloads: [[UInt8]]) throws(StoreError) {
        guard !readOnly else { throw StoreError(path: directory, reason: "opened read-only") }
        guard !payloads.isEmpty else { return }
        var frame: [UInt8] = []
        var pending: [Location] = []
        for payload in payloads {
            guard payload.count <= Self.maxRecordBytes else {
                throw StoreError(path: directory, reason: "record of \(payload.count) bytes exceeds the limit \(Self.maxRecordBytes)")
            }
            if writeOffset + frame.count > Self.magic.count && writeOffset + frame.count + 8 + payload.count > segmentLimit {
                try flush(frame)
                frame.removeAll(keepingCapacity: true)
                index.append(contentsOf: pending)
                pending.removeAll()
                try startSegment()
            }
            var w = ByteWriter(capacity: 8)
            w.u32(UInt32(payload.count)); w.u32(CRC32C.checksum(payload))
            pending.append(Location(segment: segmentPaths.count - 1, offset: writeOffset + frame.count + 8, length: payload.count))
            frame.append(contentsOf: w.bytes)
            frame.append(contentsOf: payload)
        }
        try flush(frame)
        index.append(contentsOf: pending)
    }

    private func flush(_ frame: [UInt8]) throws(StoreError) {
        guard !frame.isEmpty else { return }
        let path = segmentPaths[segmentPaths.count - 1]
        if let (chunk, pause) = tornWriteSimulation, chunk > 0 {
            var start = 0
            while start < frame.count {
                let end = min(frame.count, start + chunk)
                try FileIO.write(writeFD, path: path, Array(frame[start..<end]), at: writeOffset + start)
                usleep(pause)
                start = end
            }
        } else {
            try FileIO.write(writeFD, path: path, frame, at: writeOffset)
        }
        try FileIO.sync(writeFD, path: path)
        writeOffset += frame.count
    }

    /// Record `position` (0-based); with `prefix`, only its first bytes (a
    /// header), so walking the chain does not read every block whole.
    public func read(_ position: Int, prefix: Int? = nil) throws(StoreError) -> [UInt8] {
        guard position >= 0, position < index.count else {
            throw StoreError(path: directory, reason: "no record \(position) (have \(index.count))")
        }
        let location = index[position]
        let path = segmentPaths[location.segment]
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .errno(path, "open") }
        defer { close(fd) }
        return try FileIO.read(fd, path: path, offset: location.offset, count: min(location.length, prefix ?? location.length))
    }
}
