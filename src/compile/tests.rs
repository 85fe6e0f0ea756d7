//! Snapshots of the compiler's output: the SQL of every model in `queries/bank.model`.

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
