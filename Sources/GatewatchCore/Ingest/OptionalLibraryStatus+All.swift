extension OptionalLibraryStatus {
    /// Every optional library Gatewatch knows, loaded now if it was not yet.
    ///
    /// ISA-L is `Input/`'s and libpq `Store/`'s; the list lives here, above both, so that
    /// `Support/` depends on no folder.
    public static func all() -> [OptionalLibraryStatus] { [ISAL.status, Store.optionalLibraryStatus] }
}
