//! Black-box fault scenarios against a containerised cluster: see issue 5. Depends on no workspace crate.

fn main() {
    eprintln!("chaos-tests: no scenarios yet (they come with the containerised deployment)");
}
