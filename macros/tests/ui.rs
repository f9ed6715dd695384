//! Every macro error has a case in `ui/fail` with its expected message pinned in a `.stderr`
//! file; `ui/pass` holds surfaces that must compile. They build against `agentos-runtime`
//! alone; the cases that need the VM (`extends = AgentOs`) are in `tests/ui` of the workspace.

#[test]
fn macro_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
