//! The macro's cases that need the VM: a surface extending `AgentOs`. Every other macro error
//! has its case in `macros/tests/ui`, built against the runtime alone.

#[test]
fn macro_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
}
