// gatewatch-bench: micro-benchmarks that are never part of `swift test`.
// Usage: swift run -c release --scratch-path .build-policy gatewatch-bench <name>
import GatewatchCore

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "policy":
    do {
        try PolicyBenchmark.run()
    } catch {
        print("error: \(error)")
    }
case "owners":
    do {
        try OwnerBenchmark.run()
    } catch {
        print("error: \(error)")
    }
default:
    print("usage: gatewatch-bench policy | owners")
}
