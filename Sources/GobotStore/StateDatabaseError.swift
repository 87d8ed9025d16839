import Foundation
import GRDB

/// Why the state database cannot be used, sorted by what the operator has to do about it.
public enum StateDatabaseError: Error, Equatable, CustomStringConvertible {
    /// SQLite's integrity check failed or the file is not a database: restore, never overwrite.
    case damaged(path: String, problems: [String])
    /// The file or its directory cannot be written: a read-only filesystem, permissions, a full disk.
    /// It will not fix itself, so it is not "try later".
    case cannotWrite(path: String, reason: String)
    /// Another process holds SQLite's lock past the busy timeout.
    case busy(path: String, reason: String)
    case other(path: String, reason: String)

    public var description: String {
        switch self {
        case .damaged(let path, let problems):
            "the state database \(path) is damaged (\(problems.prefix(3).joined(separator: "; ")))"
        case .cannotWrite(let path, let reason):
            "cannot write the state database \(path): \(reason); fix the filesystem (remount read-write, permissions, free space), retrying will not help"
        case .busy(let path, let reason):
            "the state database \(path) is locked by another process (\(reason)); try again later"
        case .other(let path, let reason):
            "cannot use the state database \(path): \(reason)"
        }
    }

    /// Sorts an error from opening or writing the database by its SQLite result code (and errno
    /// for file-system errors reported by Foundation).
    public static func classify(_ error: any Error, path: String) -> StateDatabaseError {
        if let e = error as? StateDatabaseError { return e }
        if let e = error as? DatabaseError {
            let reason = e.message ?? "\(e.resultCode)"
            switch e.resultCode.primaryResultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return .damaged(path: path, problems: [reason])
            case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
                return .cannotWrite(path: path, reason: "\(reason) (\(e.resultCode))")
            case .SQLITE_FULL:
                return .cannotWrite(path: path, reason: "the disk is full (\(e.resultCode))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return .busy(path: path, reason: reason)
            default:
                return .other(path: path, reason: "\(reason) (\(e.resultCode))")
            }
        }
        let ns = error as NSError
        let posix = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
            ?? (ns.domain == NSPOSIXErrorDomain ? Int32(ns.code) : nil)
        if let posix, [EROFS, EACCES, EPERM, ENOSPC, ENOTDIR, EEXIST].contains(posix) {
            return .cannotWrite(path: path, reason: String(cString: strerror(posix)))
        }
        if ns.domain == NSCocoaErrorDomain, [CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileWriteVolumeReadOnly.rawValue,
                                            CocoaError.fileWriteOutOfSpace.rawValue, CocoaError.fileWriteFileExists.rawValue].contains(ns.code) {
            return .cannotWrite(path: path, reason: ns.localizedDescription)
        }
        return .other(path: path, reason: "\(error)")
    }
}
