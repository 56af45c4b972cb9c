#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an optional library could not be used.
///
/// Gatewatch builds with the Swift toolchain, SQLite and zlib only; ISA-L (faster inflate) and
/// libpq (fleet mode) are opened at run time when they are installed. Without ISA-L zlib
/// inflates; without libpq a fleet (server) store is refused with this error (exit 2).
public enum OptionalLibraryError: Error, Equatable, CustomStringConvertible {
    /// No file of that library could be opened.
    case notFound(library: String, install: String)
    /// The library was found but is not usable (a missing symbol, a failed self-test).
    case unusable(library: String, reason: String)
    /// A feature needs a library that is not there.
    case featureNeeds(feature: String, library: String, install: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .notFound(let library, let install):
            "\(library) not found (\(install))"
        case .unusable(let library, let reason):
            "\(library) found but not used: \(reason)"
        case .featureNeeds(let feature, let library, let install):
            "\(feature) needs \(library): \(install)"
        }
    }
}

/// One optional library as this process sees it, for `gatewatch --version --verbose`.
public struct OptionalLibraryStatus: Sendable, Equatable {
    /// What it is for: `inflate`, `fleet mode`.
    public let feature: String
    /// The file loaded, when it was.
    public let loaded: String?
    /// What happens without it, or why it was not used.
    public let note: String

    /// Every optional library Gatewatch knows, loaded now if it was not yet.
    public static func all() -> [OptionalLibraryStatus] { [ISAL.status, Store.optionalLibraryStatus] }

    init(feature: String, result: Result<String, OptionalLibraryError>, withoutIt: String) {
        self.feature = feature
        switch result {
        case .success(let name):
            loaded = name
            note = "loaded"
        case .failure(let error):
            loaded = nil
            note = "\(error); \(withoutIt)"
        }
    }
}

/// `dlopen` over a list of names.
enum OptionalLibrary {
    /// Opens the first of `names` that loads (`RTLD_NOW | RTLD_LOCAL`); the handle is kept open for
    /// the life of the process.
    static func open(_ names: [String]) -> (handle: UnsafeMutableRawPointer, name: String)? {
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) { return (handle, name) }
        }
        return nil
    }
}
