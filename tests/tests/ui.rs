//! Every macro error has a case in `ui/fail` with its expected message pinned in a `.stderr`
//! file; `ui/pass` holds surfaces that must compile.

#[test]
fn macro_ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
