fn main() -> std::process::ExitCode {
    revcycle_api::cli::main()
}
