// gatewatch-bench: micro-benchmarks that are never part of `swift test`.
// Usage: swift run -c release gatewatch-bench <name>
import GatewatchCore

let arguments = CommandLine.arguments.dropFirst()
print("usage: gatewatch-bench policy")
