/// How the modules' side of an `omni` command ends other than by success: the tool prints a
/// refusal of the command's input with its usage (exit 64) and ends with an exit status silently.
public enum CommandError: Error, Sendable, CustomStringConvertible {
    /// The input refused (an option, a file, what a peer answered), with why.
    case refused(String)
    /// End with this exit status; what went wrong is printed already.
    case exit(Int32)

    public var description: String {
        switch self {
        case .refused(let why): why
        case .exit(let status): "exit status \(status)"
        }
    }
}
