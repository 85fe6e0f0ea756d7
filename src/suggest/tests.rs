//! Ranking without data: implied facts, caps, template turns, unique titles.

use super::*;

fn s(template: Template, title: &str, support: u64, fact: Fact) -> Suggestion {
    Suggestion {
        template,
        title: title.to_string(),
        block: format!(
            "model {} {{\n    expect span()\n}}\n",
            crate::model::format::quote(title)
        ),
        support,
        traces: support,
        why: "test".into(),
        caught: None,
        fact,
    }
}

fn child(p: &str, c: &str) -> Fact {
    Fact::HasChild {
        parent: p.into(),
        child: c.into(),
    }
}

fn desc(a: &str, d: &str) -> Fact {
    Fact::HasDescendant {
        ancestor: a.into(),
        descendant: d.into(),
    }
}

fn titles(r: &Ranked) -> Vec<&str> {
    r.kept.iter().map(|s| s.title.as_str()).collect()
}

#[tokio::test]
async fn a_child_rule_and_a_chain_imply_descendant_rules() {
    let list = vec![
        s(Template::Child, "a>b", 9, child("a", "b")),
        s(Template::Child, "b>c", 9, child("b", "c")),
        s(Template::Descendant, "a>>b", 9, desc("a", "b")),
        s(Template::Descendant, "a>>c", 9, desc("a", "c")),
        s(Template::Descendant, "b>>d", 9, desc("b", "d")),
    ];
    let r = rank(list, None, &Options::default()).await.unwrap();
    assert_eq!(titles(&r), ["a>b", "b>c", "b>>d"]);
    assert_eq!((r.candidates, r.implied, r.caught), (5, 2, 0));
}

#[tokio::test]
async fn before_is_transitive() {
    let before = |a: &str, b: &str| Fact::Before {
        first: a.into(),
        then: b.into(),
    };
    let list = vec![
        s(Template::Order, "a<b", 5, before("a", "b")),
        s(Template::Order, "b<c", 5, before("b", "c")),
        s(Template::Order, "a<c", 5, before("a", "c")),
    ];
    let r = rank(list, None, &Options::default()).await.unwrap();
    assert_eq!(titles(&r), ["a<b", "b<c"]);
}

#[tokio::test]
async fn caps_per_template_and_templates_take_turns() {
    let mut list = Vec::new();
    for i in 0..5 {
        list.push(s(Template::NeverError, &format!("e{i}"), 100 - i, Fact::Alone));
        list.push(s(Template::Duration, &format!("d{i}"), 50 - i, Fact::Alone));
    }
    let options = Options::default().with_per_template(3).with_max(4);
    let r = rank(list, None, &options).await.unwrap();
    // Two turns of two templates; file order is by template, best supported first.
    assert_eq!(titles(&r), ["e0", "e1", "d0", "d1"]);
}

#[tokio::test]
async fn what_the_bad_data_caught_comes_first_whatever_the_caps() {
    let mut list = vec![
        s(Template::NeverError, "e0", 100, Fact::Alone),
        s(Template::Duration, "d0", 1, Fact::Alone),
    ];
    // As the run on bad data sets it (`rank` without bad data keeps what is there).
    list[1].caught = Some(Caught {
        count: 3,
        text: "violated in 3 traces".into(),
    });
    let r = rank(list.clone(), None, &Options::default().with_per_template(0))
        .await
        .unwrap();
    assert_eq!(titles(&r), ["d0"], "no cap applies to what the bad data caught");
    assert_eq!(r.caught, 1);
    let r = rank(list, None, &Options::default()).await.unwrap();
    assert_eq!(titles(&r), ["d0", "e0"]);
}

#[tokio::test]
async fn equal_titles_get_numbers() {
    let list = vec![
        s(Template::NeverError, "same", 2, Fact::Alone),
        s(Template::Duration, "same", 1, Fact::Alone),
    ];
    let r = rank(list, None, &Options::default()).await.unwrap();
    assert_eq!(titles(&r), ["same", "same (2)"]);
    assert!(r.kept[1].block.starts_with("model \"same (2)\""));
    // The file renders and parses.
    let text = render(&r.kept, "t").unwrap();
    assert_eq!(crate::model::parse_file(&text).unwrap().items.len(), 2);
}

#[test]
fn thresholds_round_up_to_two_digits() {
    assert_eq!(round_up(0.0), 0);
    assert_eq!(round_up(1.2), 2);
    assert_eq!(round_up(99.1), 100);
    assert_eq!(round_up(101.0), 110);
    assert_eq!(round_up(75_432_100.0), 76_000_000);
}
