/// Host names in the ASCII form App Service compares (`x-forwarded-host` filters, spec §2.3.6):
/// each label lower-cased, and a label with non-ASCII characters written as `xn--` and its
/// Punycode (RFC 3492).
///
/// Case folding is Swift's lower-casing; the other IDNA mappings (NFKC, removed characters) are
/// not applied, which only matters for host names no browser sends.
enum Punycode {
    /// The ASCII form of a host name (or host pattern such as `*.bücher.example`).
    ///
    /// - Parameter host: The host name, Unicode or ASCII.
    /// - Returns: Lower-cased labels, non-ASCII ones as `xn--…`.
    static func asciiHost(_ host: some StringProtocol) -> String {
        host.lowercased().split(separator: ".", omittingEmptySubsequences: false).map { label in
            let scalars = label.unicodeScalars.map { Int($0.value) }
            return scalars.allSatisfy({ $0 < 0x80 }) ? String(label) : "xn--" + encode(scalars)
        }.joined(separator: ".")
    }

    /// RFC 3492 §6.3: the Punycode of one label's code points (without the `xn--` prefix).
    ///
    /// - Parameter scalars: The label's Unicode scalar values.
    /// - Returns: The encoded label.
    static func encode(_ scalars: [Int]) -> String {
        let base = 36
        let tMin = 1
        let tMax = 26
        var output: [UInt8] = scalars.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        func digit(_ value: Int) -> UInt8 { UInt8(value < 26 ? value + 97 : value - 26 + 48) }
        func adapt(_ delta: Int, points: Int, first: Bool) -> Int {
            var delta = first ? delta / 700 : delta / 2
            delta += delta / points
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + (base - tMin + 1) * delta / (delta + 38)
        }
        var codePoint = 0x80
        var delta = 0
        var bias = 72
        var handled = basicCount
        while handled < scalars.count {
            guard let next = scalars.filter({ $0 >= codePoint }).min() else { break }
            delta += (next - codePoint) * (handled + 1)
            codePoint = next
            for scalar in scalars {
                if scalar < codePoint { delta += 1 }
                guard scalar == codePoint else { continue }
                var q = delta
                var k = base
                while true {
                    let threshold = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                    if q < threshold { break }
                    output.append(digit(threshold + (q - threshold) % (base - threshold)))
                    q = (q - threshold) / (base - threshold)
                    k += base
                }
                output.append(digit(q))
                bias = adapt(delta, points: handled + 1, first: handled == basicCount)
                delta = 0
                handled += 1
            }
            delta += 1
            codePoint += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
