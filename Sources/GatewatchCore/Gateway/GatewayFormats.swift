/// Recognises gateway log formats and makes their consumers.
public enum GatewayFormats {
    /// A consumer for an input whose first bytes are a gateway log, or `nil`.
    ///
    /// - Parameters:
    ///   - head: The first bytes of the decompressed input.
    ///   - path: The input's path, for messages.
    /// - Returns: The consumer, or `nil` when the input is not a gateway log.
    public static func consumer(forHead head: [UInt8], path: String) -> (any RecordConsumer)? {
        nil
    }
}
