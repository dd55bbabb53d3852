#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A storage failure, naming the file and what went wrong.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }

    static func errno(_ path: String, _ operation: String) -> StoreError {
        StoreError(path: path, reason: "\(operation) failed: \(String(cString: strerror(Glibc.errno)))")
    }
}

/// An exclusive `flock` on `DIR/LOCK`, held for the owner's lifetime: one process
/// appends to a store at a time (two would write two blocks at one height). The
/// kernel drops it when the process dies, SIGKILL included.
final class DirectoryLock {
    private let fd: Int32

    init(directory: String) throws(StoreError) {
        let path = directory + "/LOCK"
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw .errno(path, "open") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = Glibc.errno == EWOULDBLOCK
            close(fd)
            throw busy ? StoreError(path: directory, reason: "in use by another process (LOCK is held)") : .errno(path, "flock")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}

/// The few POSIX calls the store needs, with errors that name the path. Kept
/// apart so that everything else in the module stays free of I/O.
enum FileIO {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func makeDirectory(_ path: String) throws(StoreError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && Glibc.errno != EEXIST {
                throw .errno(partial, "mkdir")
            }
        }
    }

    static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw .errno(path, "opendir") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func size(_ path: String) throws(StoreError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .errno(path, "stat") }
        return Int(info.st_size)
    }

    static func readAll(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .errno(path, "open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .errno(path, "fstat") }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, size - done, off_t(done)) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else { throw n == 0 ? StoreError(path: path, reason: "file shrank while reading") : .errno(path, "pread") }
            done += n
        }
        return bytes
    }

    static func read(_ fd: Int32, path: String, offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else { throw n == 0 ? StoreError(path: path, reason: "short read at \(offset)") : .errno(path, "pread") }
            done += n
        }
        return bytes
    }

    static func write(_ fd: Int32, path: String, _ bytes: [UInt8], at offset: Int) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else { throw .errno(path, "pwrite") }
            done += n
        }
    }

    static func sync(_ fd: Int32, path: String) throws(StoreError) {
        guard fsync(fd) == 0 else { throw .errno(path, "fsync") }
    }

    static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw .errno(path, "open directory") }
        defer { close(fd) }
        try sync(fd, path: path)
    }

    /// Write to a temporary file, fsync, rename over the target, fsync the
    /// directory: a reader sees the old file or the whole new one, never a part.
    static func writeAtomically(_ path: String, directory: String, _ bytes: [UInt8]) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .errno(temporary, "open") }
        do {
            try write(fd, path: temporary, bytes, at: 0)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .errno(path, "rename") }
        try syncDirectory(directory)
    }

    static func remove(_ path: String) { unlink(path) }

    /// Zero-padded decimal, for file names that sort in numeric order.
    static func padded(_ value: UInt64, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
