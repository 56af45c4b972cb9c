#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// libpq, PostgreSQL's client library, loaded at run time: fleet mode is optional, never a build
/// requirement.
///
/// `libpq.so.5` (Debian: `libpq5`) is opened with `dlopen` the first time a `postgres://` store is
/// opened; without it that store is refused with
/// ``OptionalLibraryError/featureNeeds(feature:library:install:)`` (exit 2) and every SQLite
/// command works as before. Only the functions ``PostgresConnection`` calls are bound; their C
/// signatures are libpq's stable API (`PGconn *` and `PGresult *` are opaque, enums are `int`).
struct Libpq: @unchecked Sendable {
    typealias Connection = OpaquePointer
    typealias Result = OpaquePointer
    typealias Text = UnsafePointer<CChar>
    typealias NoticeProcessor = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void
    typealias Parameters = UnsafePointer<UnsafePointer<CChar>?>

    let connectdb: @convention(c) (Text?) -> Connection?
    let status: @convention(c) (Connection?) -> Int32
    let errorMessage: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let finish: @convention(c) (Connection?) -> Void
    let setNoticeProcessor: @convention(c) (Connection?, NoticeProcessor?, UnsafeMutableRawPointer?) -> NoticeProcessor?
    let exec: @convention(c) (Connection?, Text?) -> Result?
    let execParams:
        @convention(c) (
            Connection?, Text?, Int32, UnsafePointer<UInt32>?, Parameters?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?, Int32
        ) -> Result?
    let sendQueryParams:
        @convention(c) (
            Connection?, Text?, Int32, UnsafePointer<UInt32>?, Parameters?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?, Int32
        ) -> Int32
    let setSingleRowMode: @convention(c) (Connection?) -> Int32
    let getResult: @convention(c) (Connection?) -> Result?
    let clear: @convention(c) (Result?) -> Void
    let resultStatus: @convention(c) (Result?) -> Int32
    let resultErrorMessage: @convention(c) (Result?) -> UnsafeMutablePointer<CChar>?
    let resultErrorField: @convention(c) (Result?, Int32) -> UnsafeMutablePointer<CChar>?
    let cmdTuples: @convention(c) (Result?) -> UnsafeMutablePointer<CChar>?
    let nfields: @convention(c) (Result?) -> Int32
    let ntuples: @convention(c) (Result?) -> Int32
    let fname: @convention(c) (Result?, Int32) -> UnsafeMutablePointer<CChar>?
    let ftype: @convention(c) (Result?, Int32) -> UInt32
    let getisnull: @convention(c) (Result?, Int32, Int32) -> Int32
    let getvalue: @convention(c) (Result?, Int32, Int32) -> UnsafeMutablePointer<CChar>?
    let getlength: @convention(c) (Result?, Int32, Int32) -> Int32
    let putCopyData: @convention(c) (Connection?, Text?, Int32) -> Int32
    let putCopyEnd: @convention(c) (Connection?, Text?) -> Int32

    /// The file that was loaded.
    let libraryName: String

    /// `ConnStatusType.CONNECTION_OK`.
    static let connectionOK: Int32 = 0
    /// `ExecStatusType` values.
    static let commandOK: Int32 = 1
    static let tuplesOK: Int32 = 2
    static let copyIn: Int32 = 4
    static let fatalError: Int32 = 7
    static let singleTuple: Int32 = 9

    /// The library names tried, in order.
    static let libraryNames = ["libpq.so.5", "libpq.so", "libpq.5.dylib", "libpq.dylib"]

    /// The loaded library, or why there is none (loaded once per process).
    static let shared: Swift.Result<Libpq, OptionalLibraryError> = load()

    /// The loaded library, if any.
    static var available: Libpq? { try? shared.get() }

    /// What `gatewatch --version --verbose` says of it.
    static var status: OptionalLibraryStatus {
        OptionalLibraryStatus(
            feature: "fleet mode (libpq)",
            result: shared.map(\.libraryName),
            withoutIt: "postgres:// stores are refused"
        )
    }

    /// The library, or the error that says fleet mode needs it.
    static func require() throws -> Libpq {
        switch shared {
        case .success(let library):
            return library
        case .failure(.notFound):
            throw OptionalLibraryError.featureNeeds(
                feature: "fleet mode",
                library: "libpq",
                install: "apt-get install libpq5"
            )
        case .failure(let error):
            throw error
        }
    }

    private static func load() -> Swift.Result<Libpq, OptionalLibraryError> {
        guard let (handle, name) = OptionalLibrary.open(libraryNames) else {
            return .failure(.notFound(library: "libpq (libpq.so.5)", install: "apt-get install libpq5"))
        }
        func bind<T>(_ symbol: String) throws(OptionalLibraryError) -> T {
            guard let address = dlsym(handle, symbol) else {
                throw .unusable(library: name, reason: "it lacks \(symbol)")
            }
            return unsafeBitCast(address, to: T.self)
        }
        do throws(OptionalLibraryError) {
            return .success(
                Libpq(
                    connectdb: try bind("PQconnectdb"),
                    status: try bind("PQstatus"),
                    errorMessage: try bind("PQerrorMessage"),
                    finish: try bind("PQfinish"),
                    setNoticeProcessor: try bind("PQsetNoticeProcessor"),
                    exec: try bind("PQexec"),
                    execParams: try bind("PQexecParams"),
                    sendQueryParams: try bind("PQsendQueryParams"),
                    setSingleRowMode: try bind("PQsetSingleRowMode"),
                    getResult: try bind("PQgetResult"),
                    clear: try bind("PQclear"),
                    resultStatus: try bind("PQresultStatus"),
                    resultErrorMessage: try bind("PQresultErrorMessage"),
                    resultErrorField: try bind("PQresultErrorField"),
                    cmdTuples: try bind("PQcmdTuples"),
                    nfields: try bind("PQnfields"),
                    ntuples: try bind("PQntuples"),
                    fname: try bind("PQfname"),
                    ftype: try bind("PQftype"),
                    getisnull: try bind("PQgetisnull"),
                    getvalue: try bind("PQgetvalue"),
                    getlength: try bind("PQgetlength"),
                    putCopyData: try bind("PQputCopyData"),
                    putCopyEnd: try bind("PQputCopyEnd"),
                    libraryName: name
                )
            )
        } catch {
            return .failure(error)
        }
    }
}
