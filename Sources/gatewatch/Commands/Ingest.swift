import ArgumentParser

extension Gatewatch {
    struct Ingest: ParsableCommand {}
}
