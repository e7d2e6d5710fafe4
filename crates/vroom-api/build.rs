//! Rebuild when the meeting UI is rebuilt: Vite rewrites `index.html` on every build (it
//! names the content-hashed bundles), and rust-embed must then pick up the new file set.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist/index.html");
}
