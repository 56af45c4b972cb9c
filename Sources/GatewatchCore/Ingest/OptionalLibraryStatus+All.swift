extension OptionalLibraryStatus {
    /// Every optional library Gatewatch knows, loaded now if it was not yet: ISA-L (Input/) and
    /// libpq (Store/). The list lives here, above both, so that Support/ depends on nothing.
    public static func all() -> [OptionalLibraryStatus] { [ISAL.status, Store.optionalLibraryStatus] }
}
