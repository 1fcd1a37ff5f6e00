//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the migrations directory, but
//! cargo only tracks files a build reads, so a new file would otherwise be left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
