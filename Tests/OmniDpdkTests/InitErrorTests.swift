import CDpdk
import Glibc
import Testing

// cdpdk_init follows the kernels' one error convention: 0 or a negative errno, with the
// reason written into the caller's buffer (it returned an error string before). EAL itself
// is never started here: the test process stays free of it (every DPDK run is a child).
@Suite("CDpdk error convention")
struct InitErrorTests {
    @Test func badArgcIsNegativeEinvalWithText() {
        var text = [CChar](repeating: 0, count: 256)
        let rc = text.withUnsafeMutableBufferPointer { cdpdk_init(0, nil, $0.baseAddress, $0.count) }
        #expect(rc == -EINVAL)
        #expect(String(cString: text).contains("argc"))
        #expect(cdpdk_initialized() == 0)
        #expect(cdpdk_init(65, nil, nil, 0) == -EINVAL, "no buffer: the code alone")
    }
}
