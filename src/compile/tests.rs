//! Snapshots of the compiler's output: the SQL of every model in `queries/bank.model`, and each stage
//! (AST, typed, SQL) of a few representative blocks.

use crate::model::{parse_file, Item};

#[test]
fn bank_models_compile_to_stable_sql() {
    let source = include_str!("../../queries/bank.model");
    let file = parse_file(source).unwrap();
    for item in &file.items {
        let Item::Model(m) = item else { continue };
        let compiled = super::compile_model(m).unwrap();
        let slug: String = m
            .title
            .node
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        insta::assert_snapshot!(slug, compiled.sql());
    }
}

#[test]
fn printed_sql_parses_back_to_the_same_tree() {
    use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
    let source = include_str!("../../tests/cases/when_tags_arithmetic/case.model");
    for item in &parse_file(source).unwrap().items {
        let Item::Model(m) = item else { continue };
        let sql = super::compile_model(m).unwrap().sql();
        let parsed = Parser::parse_sql(&GenericDialect {}, &sql).unwrap();
        // Printing the re-parsed tree gives the same text: no operator lost its parentheses.
        assert_eq!(format!("{:#}", parsed[0]), sql);
    }
}

/// Each stage of the compiler (the AST, the typed representation, the SQL) of the block titled
/// `title` in `source`, snapshotted as `{name}_ast`, `{name}_typed` and `{name}_sql`, as
/// `tracecheck explain --stage ast|typed|sql` prints them.
fn snapshot_stages(name: &str, source: &str, title: &str) {
    let file = parse_file(source).unwrap();
    let item = file
        .items
        .iter()
        .find(|i| match i {
            Item::Model(m) => m.title.node == title,
            Item::Check(c) => c.title.node == title,
        })
        .unwrap_or_else(|| panic!("no block titled {title:?}"));
    let (typed, sql) = match item {
        Item::Model(m) => (
            super::type_model(m).unwrap().to_string(),
            super::compile_model(m).unwrap().sql(),
        ),
        Item::Check(c) => {
            let compiled = super::compile_check(c).unwrap();
            let rules: Vec<String> = compiled.rules.iter().map(|r| format!("{};\n", r.sql())).collect();
            (super::type_check(c).unwrap().to_string(), rules.join("\n"))
        }
    };
    insta::assert_snapshot!(format!("{name}_ast"), format!("{item:#?}"));
    insta::assert_snapshot!(format!("{name}_typed"), typed);
    insta::assert_snapshot!(format!("{name}_sql"), sql);
}

#[test]
fn stages_of_the_seed_model() {
    snapshot_stages(
        "stages_seed",
        include_str!("../../queries/bank.model"),
        "Accounts cannot withdraw more than their balance",
    );
}

#[test]
fn stages_of_a_model_with_lets_and_when_arithmetic() {
    snapshot_stages(
        "stages_when_let",
        include_str!("../../tests/cases/when_tags_arithmetic/case.model"),
        "The server answers within the client's span, with 10 ms to spare",
    );
}

#[test]
fn stages_of_a_check_block() {
    snapshot_stages(
        "stages_check",
        include_str!("../../queries/slo.model"),
        "Withdrawals stay fast",
    );
}

/// The typed form of every block of the shipped model files: one line per clause, each value
/// with its type, each comparison with how it is computed.
#[test]
fn typed_form_of_the_shipped_models() {
    for (name, source) in [
        ("typed_bank", include_str!("../../queries/bank.model")),
        ("typed_slo", include_str!("../../queries/slo.model")),
        (
            "typed_when_tags_arithmetic",
            include_str!("../../tests/cases/when_tags_arithmetic/case.model"),
        ),
    ] {
        let text: String = parse_file(source)
            .unwrap()
            .items
            .iter()
            .map(|item| match item {
                Item::Model(m) => super::type_model(m).unwrap().to_string(),
                Item::Check(c) => super::type_check(c).unwrap().to_string(),
            })
            .collect();
        insta::assert_snapshot!(name, text);
    }
}
