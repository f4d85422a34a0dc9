//! Runs the six uses of kiln inside an application and prints what each measured.

fn main() -> Result<(), kiln_embed_example::Error> {
    let dir = std::env::temp_dir().join(format!("kiln-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("(a) {:?}", kiln_embed_example::own_model::run(&dir)?);
    println!("(b) {:?}", kiln_embed_example::classifier::run()?);
    println!("(c) {:?}", kiln_embed_example::dqn::run()?);
    println!("(d) {:?}", kiln_embed_example::clustering::run(&dir)?);
    println!("(e) {:?}", kiln_embed_example::gan::run()?);
    println!("(f) {:?}", kiln_embed_example::pretrained::run(&dir)?);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
