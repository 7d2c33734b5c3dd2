import ArgumentParser
import OmniDpdk

/// Where EAL takes its memory from, for the subcommands that start DPDK.
enum HugePageChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, on, off

    static let text = """
        DPDK memory: on = reserved hugepages (as DPDK runs in production), off = 4 KB pages \
        (--no-huge), auto = on when enough hugepages are free. `make hugepages` reserves them.
        """
    static var help: ArgumentHelp { ArgumentHelp(text) }

    /// Sets `options.hugePages` for `choice`; returns the line the run reports about it.
    static func apply(_ choice: HugePageChoice, to options: inout EALOptions) throws -> String {
        let free = EAL.freeHugePagesMB
        let enough = free >= options.memoryMB
        if choice == .on && !enough {
            throw ValidationError("--huge-pages on: \(options.memoryMB) MB of hugepages needed, \(free) MB free (vm.nr_hugepages; `make hugepages` reserves them)")
        }
        options.hugePages = choice == .on || (choice == .auto && enough)
        if options.hugePages { return "\(options.memoryMB) MB on hugepages (--in-memory)" }
        let why = choice == .off ? "--huge-pages off" : "\(free) MB of hugepages free, \(options.memoryMB) MB needed; `make hugepages` reserves them"
        return "\(options.memoryMB) MB on 4 KB pages (--no-huge: \(why))"
    }
}
