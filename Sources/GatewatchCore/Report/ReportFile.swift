import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a report file was not written.
public enum ReportFileError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The target is the store itself (or its `-wal`, `-shm` or `-journal` file).
    case isStore(path: String, store: String)
    /// The target is a SQLite database (or WAL) file.
    case sqliteFile(path: String)
    /// The target is a symbolic link to nothing.
    case danglingLink(path: String, target: String)
    /// The file system refused.
    case cannotWrite(path: String, errno: Int32)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .isStore(let path, let store):
            "refusing to write the report to '\(path)': it is the store '\(store)' (or one of its files); "
                + "give --out a new .html file"
        case .sqliteFile(let path):
            "refusing to write the report to '\(path)': it is a SQLite database file and would be destroyed; "
                + "give --out a new .html file"
        case .danglingLink(let path, let target):
            "refusing to write the report to '\(path)': it is a symbolic link to '\(target)', which does not exist; "
                + "remove the link or give --out the file itself"
        case .cannotWrite(let path, let code):
            "cannot write '\(path)': \(String(cString: strerror(code))); check the directory exists and is writable"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// Writes `report --out` safely.
///
/// The report never replaces data: a target that is the store (same device and inode as the
/// store or its `-wal`, `-shm`, `-journal` file) or any SQLite file (it starts with
/// `SQLite format 3\0`, or a WAL header) is refused, and so is a symbolic link to nothing
/// (it would create a file wherever the link points). A symbolic link is written through to its
/// target; a device or FIFO (`/dev/stdout`) is written in place; a regular file is replaced
/// atomically (a new file renamed over it) and keeps its permission bits (a 0600 report stays
/// 0600).
public enum ReportFile {
    /// Writes `text` to `path`.
    ///
    /// - Parameters:
    ///   - text: The report.
    ///   - path: The `--out` path.
    ///   - store: The SQLite store file the report was read from, or `nil` for PostgreSQL.
    /// - Throws: ``ReportFileError``.
    public static func write(_ text: String, to path: String, store: String?) throws(ReportFileError) {
        var link = stat()
        var target = path
        if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(path, nil) else {
                let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                throw .danglingLink(path: path, target: destination)
            }
            target = String(cString: resolved)
            free(resolved)
        }
        var existing = stat()
        guard stat(target, &existing) == 0 else {
            guard errno == ENOENT else { throw .cannotWrite(path: path, errno: errno) }
            // A new file: the usual mode, less the umask.
            let mask = umask(0)
            umask(mask)
            return try replace(target, with: text, mode: 0o666 & ~mode_t(mask), shownAs: path)
        }
        if let store, isPart(of: store, existing) { throw .isStore(path: path, store: store) }
        guard existing.st_mode & S_IFMT == S_IFREG else {
            // A device or FIFO: written in place (a file renamed over it would replace it).
            return try writeInPlace(target, text: text, shownAs: path)
        }
        if holdsSQLite(target) { throw .sqliteFile(path: path) }
        try replace(target, with: text, mode: existing.st_mode & 0o7777, shownAs: path)
    }

    /// Whether `file` is the store or one of its side files.
    private static func isPart(of store: String, _ file: stat) -> Bool {
        ["", "-wal", "-shm", "-journal"].contains { suffix in
            var status = stat()
            return stat(store + suffix, &status) == 0 && status.st_dev == file.st_dev && status.st_ino == file.st_ino
        }
    }

    /// Whether a file starts like a SQLite database or a SQLite WAL file.
    static func holdsSQLite(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if head == Array("SQLite format 3\0".utf8) { return true }
        // WAL magic, big-endian: 0x377f0682 or 0x377f0683.
        return head.count >= 4 && head[0] == 0x37 && head[1] == 0x7F && head[2] == 0x06 && head[3] & 0xFE == 0x82
    }

    private static func writeInPlace(_ target: String, text: String, shownAs path: String) throws(ReportFileError) {
        let descriptor = open(target, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, errno: errno) }
        defer { close(descriptor) }
        if let code = AlertDispatcher.writeAll(text, to: descriptor) { throw .cannotWrite(path: path, errno: code) }
    }

    /// A new file beside `target`, written, given `mode`, synced and renamed over `target`.
    private static func replace(
        _ target: String,
        with text: String,
        mode: mode_t,
        shownAs path: String
    ) throws(ReportFileError) {
        let url = URL(fileURLWithPath: target)
        let temporary =
            url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, errno: errno) }
        var failure = AlertDispatcher.writeAll(text, to: descriptor)
        if failure == nil, fchmod(descriptor, mode) != 0 { failure = errno }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == nil, rename(temporary, target) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw .cannotWrite(path: path, errno: failure)
        }
    }
}
