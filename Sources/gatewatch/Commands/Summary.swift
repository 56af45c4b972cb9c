import ArgumentParser

extension Gatewatch {
    struct Summary: ParsableCommand {}
}
