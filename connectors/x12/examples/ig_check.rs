fn main() {
    for f in std::env::args().skip(1) {
        let b = std::fs::read(&f).unwrap();
        let errs = revcycle_x12::validate::validate(&b);
        println!("== {f}: {} errors", errs.len());
        for e in errs.iter().take(8) {
            println!("   {e}  -> {}", e.pointer());
        }
    }
}
