import CISAL
import Foundation
import Testing

@testable import GatewatchCore

/// A libisal whose `struct inflate_state` is larger than the vendored header (a future ISA-L that
/// keeps the soname and appends a field) must be refused without writing past the allocation.
@Suite struct ISALLayoutTests {
    @Test("a library with a larger inflate_state is refused by the self-test, its writes kept inside the state")
    func largerState() throws {
        guard ISAL.available != nil else {
            print("!! ISALLayoutTests skipped: ISA-L (libisal.so.2) is not installed")
            return
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isal-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Inflates with the real library, then writes the field a larger struct would have after the
        // vendored one.
        let source = """
            #include <dlfcn.h>
            #include <stdint.h>
            #include "igzip_lib.h"
            static void *real(const char *name) {
                static void *handle;
                if (!handle) handle = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
                return dlsym(handle, name);
            }
            static void tail(struct inflate_state *state) {
                uint64_t *field = (uint64_t *)((char *)state + sizeof(struct inflate_state));
                *field = 0x5555555555555555ULL;
            }
            void isal_inflate_init(struct inflate_state *state) {
                ((void (*)(struct inflate_state *))real("isal_inflate_init"))(state);
                tail(state);
            }
            int isal_inflate(struct inflate_state *state) {
                tail(state);
                return ((int (*)(struct inflate_state *))real("isal_inflate"))(state);
            }
            """
        try source.write(toFile: directory + "/fake.c", atomically: true, encoding: .utf8)
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        clang.arguments = [
            "clang", "-shared", "-fPIC", "-I", root.appendingPathComponent("Sources/CISAL").path,
            "-o", directory + "/libfakeisal.so", directory + "/fake.c", "-ldl",
        ]
        try clang.run()
        clang.waitUntilExit()
        if clang.terminationStatus == 127 {
            print("!! ISALLayoutTests skipped: no clang on PATH (it comes with the Swift toolchain)")
            return
        }
        try #require(clang.terminationStatus == 0, "clang could not build the fake library")
        let result = ISAL.load(names: [directory + "/libfakeisal.so"])
        guard case .failure(.unusable(_, let reason)) = result else {
            Issue.record("a library with a larger inflate_state was accepted: \(result)")
            return
        }
        #expect(reason.contains("inflate_state"), "\(reason)")
    }
}
