#if canImport(Glibc)
import Glibc
#endif
import CDpdk

/// Why DPDK could not be brought up or a port could not be used.
public enum DpdkError: Error, CustomStringConvertible, Equatable, Sendable {
    /// rte_eal_init refused: no DPDK support here, bad arguments, or already done in this process.
    case ealInit(String)
    /// An EAL option built from the caller's input is unusable (a missing file, a comma in a path).
    case badOption(String)
    case notStarted
    case noSuchPort(String)
    case portSetup(String)

    public var description: String {
        switch self {
        case .ealInit(let why): return "DPDK EAL init failed: \(why)"
        case .badOption(let why): return "DPDK option: \(why)"
        case .notStarted: return "DPDK EAL is not initialised (call EAL.start first)"
        case .noSuchPort(let what): return "no DPDK port \(what)"
        case .portSetup(let why): return "DPDK port set-up failed: \(why)"
        }
    }
}

/// The EAL command line, built from what a run needs. The defaults need no NIC,
/// no hugepages and no root-only set-up: anonymous memory, no PCI scan, no
/// shared config files, so several test processes can run side by side.
/// `hugePages` takes EAL's memory from the kernel's reserved hugepages instead, the way DPDK
/// runs in production: with `--in-memory`, so no hugetlbfs mount is needed and no files stay behind.
public struct EALOptions: Sendable, Equatable {
    /// `-l`: the cores EAL may use; the calling thread is pinned to the first.
    public var cores: String
    /// `-m`: megabytes EAL reserves for pools and rings.
    public var memoryMB: Int
    public var hugePages: Bool
    public var pciScan: Bool
    /// `--vdev=` values, e.g. `net_pcap0,rx_pcap=/tmp/a.pcap`.
    public var vdevs: [String]
    /// `--log-level=`; nil leaves EAL's default (info, chatty).
    public var logLevel: String?
    /// Anything else, passed through last.
    public var extra: [String]

    public init(cores: String = "0", memoryMB: Int = 256, hugePages: Bool = false, pciScan: Bool = false,
                vdevs: [String] = [], logLevel: String? = "*:warning", extra: [String] = []) {
        self.cores = cores
        self.memoryMB = memoryMB
        self.hugePages = hugePages
        self.pciScan = pciScan
        self.vdevs = vdevs
        self.logLevel = logLevel
        self.extra = extra
    }

    /// A net_pcap port replaying `path` (plain pcap or pcapng: libpcap reads both, not .gz).
    /// `infiniteRx` loads the whole file into the port's mbuf pool at start and replays it
    /// forever: size the pool (DpdkPort.Config.poolMbufs) and memoryMB to hold it.
    public static func pcap(_ path: String, infiniteRx: Bool = false, core: Int = 0, memoryMB: Int = 256,
                            device: String = "net_pcap0") throws(DpdkError) -> EALOptions {
        if path.hasSuffix(".gz") { throw .badOption("net_pcap reads plain pcap or pcapng files: decompress \(path) first") }
        if path.contains(",") { throw .badOption("a pcap path cannot contain ',' (it separates devargs): \(path)") }
        if access(path, R_OK) != 0 { throw .badOption("cannot read pcap file \(path): \(String(cString: strerror(errno)))") }
        var vdev = "\(device),rx_pcap=\(path)"
        if infiniteRx { vdev += ",infinite_rx=1" }
        return EALOptions(cores: String(core), memoryMB: memoryMB, vdevs: [vdev])
    }

    /// A net_null port: endless frames of `frameSize` bytes whose data the driver never writes
    /// (see DpdkPort.stampPool to make them a real frame).
    public static func null(frameSize: Int = 64, core: Int = 0, device: String = "net_null0") -> EALOptions {
        EALOptions(cores: String(core), vdevs: ["\(device),size=\(frameSize)"])
    }

    /// A net_ring port: what it transmits comes back on its receive queue.
    public static func ringLoopback(core: Int = 0, device: String = "net_ring0") -> EALOptions {
        EALOptions(cores: String(core), vdevs: [device])
    }

    /// The argument vector for rte_eal_init, without the program name.
    public var arguments: [String] {
        var a = ["-l", cores, "-m", String(memoryMB), "--no-shconf", "--no-telemetry"]
        a.append(hugePages ? "--in-memory" : "--no-huge")
        if !pciScan { a.append("--no-pci") }
        if let logLevel { a.append("--log-level=\(logLevel)") }
        a += vdevs.map { "--vdev=\($0)" }
        return a + extra
    }
}

/// DPDK's Environment Abstraction Layer: once per process.
public enum EAL {
    /// Initialises EAL with `options`; the calling thread ends up pinned to the first core.
    public static func start(_ options: EALOptions, program: String = "omni") throws(DpdkError) {
        try start(arguments: options.arguments, program: program)
    }

    /// Initialises EAL with a raw argument vector (without the program name).
    public static func start(arguments: [String], program: String = "omni") throws(DpdkError) {
        let argv = [program] + arguments
        var cStrings = argv.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var text = [CChar](repeating: 0, count: 256)
        let rc = cStrings.withUnsafeMutableBufferPointer { buf in
            buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { argvp in
                text.withUnsafeMutableBufferPointer { cdpdk_init(Int32(argv.count), argvp.baseAddress, $0.baseAddress, $0.count) }
            }
        }
        if rc != 0 { throw .ealInit(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    public static var isStarted: Bool { cdpdk_initialized() != 0 }

    /// Closes every open port and releases EAL's resources; EAL cannot be started again in this process.
    public static func stop() { cdpdk_cleanup() }

    /// Ticks per second of the TSC that stamps received bursts (EAL's calibration).
    public static var tscHz: UInt64 { cdpdk_tsc_hz() }

    /// Free hugepages of the default size, in MB (0 when none are reserved: `vm.nr_hugepages`).
    public static var freeHugePagesMB: Int { Int(cdpdk_free_hugepage_bytes() >> 20) }

    /// How many ethdev ports EAL found (virtual devices included).
    public static var portCount: Int { Int(cdpdk_port_count()) }
}
