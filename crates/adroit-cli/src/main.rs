//! `adroit`: the command line. A thin door: it parses arguments, calls the library
//! crates, and prints or writes what they return. No analysis lives here.

mod attribution;
mod check;
mod clv;
mod demo;
mod fairness;
mod federated;
mod frame;
mod llm;
mod metrics;
mod mining;
mod mmm;
mod mmm_bayes;
mod model;
mod output;
mod privacy;
mod report;
mod run;
mod serve;
mod simulate;
mod text;
mod text_backends;
mod uplift;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "adroit",
    version,
    about = "Marketing ROI intelligence: load, check and measure your marketing data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load every table, validate it, and print the data-quality report (exit 1 on errors).
    Check(check::CheckArgs),
    /// Channel performance per group and period: spend, CTR, CPC, CPM, CPA, ROAS, ROI, change.
    Metrics(metrics::MetricsArgs),
    /// Train, apply and explain predictive models (regression, classification).
    Model(model::ModelArgs),
    /// Segment rows with k-means; choose k by silhouette; centers in the data's units.
    Cluster(mining::ClusterArgs),
    /// Frequent itemsets and association rules (support, confidence, lift) from baskets.
    #[command(alias = "basket")]
    Rules(mining::RulesArgs),
    /// Text intelligence: sentiment, aspects, keywords, entities, topics, trends (zh and en).
    Text(text::TextArgs),
    /// Local LLMs: serve a GGUF chat model over an OpenAI-compatible API, or chat with it.
    Llm(llm::LlmArgs),
    /// Marketing mix models: fit (ROAS with intervals, decomposition), allocate a budget, what-if.
    Mmm(mmm::MmmArgs),
    /// Multi-touch attribution: rule models, Markov chains and Shapley on journeys.
    Attribution(attribution::AttributionArgs),
    /// Customer RFM summaries from transactions.
    Customers(clv::CustomersArgs),
    /// Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fits, predictions and holdout validation.
    Clv(clv::ClvArgs),
    /// Uplift modelling: who responds because of a campaign (T/S/X-learners, class transformation), Qini and AUUC, a targeting list.
    Uplift(uplift::UpliftArgs),
    /// Bias audit of a selection (targeting list, model decisions) across sensitive groups.
    Fairness(fairness::FairnessArgs),
    /// Federated fits across data owners who share statistics, not rows (linear, ridge, logistic).
    Federated(federated::FederatedArgs),
    /// Every analysis the config enables, in order, into one run folder with run.json, a
    /// cache per stage and report.html.
    Run(run::RunArgs),
    /// Simulate a shop with known truth, run every analysis on it and write the report.
    Demo(demo::DemoArgs),
    /// Write a simulated marketing world with known truth (tables, adroit.toml, truth.json).
    Simulate(simulate::SimulateArgs),
    /// Write one self-contained HTML report (inline SVG charts, en or zh) of a run folder.
    Report(report::ReportArgs),
    /// Serve a run folder over HTTP for real-time scoring (what-if, budget, CLV, text, models).
    Serve(serve::ServeArgs),
    /// Privacy: scan for personal data, protect (pseudonyms, masking), DP releases, k-anonymity.
    Privacy(privacy::PrivacyArgs),
    /// Bearer tokens of `adroit serve`: create (printed once), revoke, list.
    Token(serve::TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Metrics(args) => metrics::run(args),
        Command::Model(args) => model::run(args),
        Command::Cluster(args) => mining::run_cluster(args),
        Command::Rules(args) => mining::run_rules(args),
        Command::Text(args) => text::run(args),
        Command::Llm(args) => llm::run(args),
        Command::Mmm(args) => mmm::run(args),
        Command::Attribution(args) => attribution::run(args),
        Command::Customers(args) => clv::run_customers(args),
        Command::Clv(args) => clv::run_clv(args),
        Command::Uplift(args) => uplift::run(args),
        Command::Fairness(args) => fairness::run(args),
        Command::Federated(args) => federated::run(args),
        Command::Run(args) => run::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run_serve(args),
        Command::Token(args) => serve::run_token(args),
        Command::Privacy(args) => privacy::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
