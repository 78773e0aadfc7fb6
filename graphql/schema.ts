import {
  EXPERIMENT_STATUSES,
  REWARD_SOURCES,
  SAMPLE_STATUSES,
  TRANSFER_STATUSES,
  TRIAL_STATUSES,
} from '../core/projections/read-model-tables.ts';

/** The read models' lower-case values, upper-cased as GraphQL spells enum values (resolvers/enums.ts maps back). */
function enumType(name: string, values: readonly string[]): string {
  return `enum ${name} { ${values.map((value) => value.toUpperCase()).join(' ')} }`;
}

/**
 * The GraphQL schema. Field names are a contract with the dashboard, the
 * benchmark and users' scripts: add fields, never rename them. Global positions and
 * revisions are strings because they are 64-bit (SQLite) or 128-bit (EventStoreDB).
 */
export const typeDefs = /* GraphQL */ `
  """
  Any JSON value: an experiment's configuration, an event's payload.
  """
  scalar JSON

  type Query {
    "Every experiment, oldest first."
    experiments: [Experiment!]!
    """
    The experiments a page at a time (Relay connection, keyset cursors), oldest first or
    newest first, keeping those that match every field of \`filter\`.
    """
    experimentsPage(first: Int = 20, after: String, orderBy: ExperimentOrder = CREATED_AT, filter: ExperimentFilter): ExperimentConnection!
    experiment(id: ID!): Experiment
    """
    Several experiments side by side, in the order asked (null for an id with no
    experiment): ask each for \`rewardCurve\`, \`bestCells\`, \`bestReward\`… At most 10 ids.
    """
    compareExperiments(ids: [ID!]!): [Experiment]!
    "One sample by id (\`<experimentId>-<index>\`)."
    sample(id: ID!): Sample
    """
    The raw event log in commit order, with global positions. \`after\` is a cursor
    (a global position) from a previous page; \`experimentId\` keeps the events of one
    experiment (its own stream and its trials); \`types\` keeps those event types.
    """
    events(after: String, first: Int = 20, experimentId: ID, types: [String!]): EventConnection!
    "The global position of the newest event (\\"0\\" for an empty log)."
    headPosition: String!
    """
    Replays an experiment's controller and checks every recorded sample and policy update
    against it. The server keeps each experiment's audit and goes on from the last event it
    verified (see AuditReport.from); \`nasnet audit\` replays from the first event.
    """
    audit(experimentId: ID!): AuditReport!
    "Final trainings of chosen cells (\`nasnet train\`), oldest request first."
    transfers: [Transfer!]!
    transfer(id: ID!): Transfer
  }

  type Mutation {
    """
    Asks a running experiment to stop: appends ExperimentStopped to its stream, and the
    controller stops when it reads it. Needs \`Authorization: Bearer <token>\` with the
    token \`nasnet serve\` was started with.
    """
    stopExperiment(id: ID!): Experiment!
    """
    Records a new experiment as \`nasnet search\` does (ExperimentCreated, ControllerInitialized)
    and runs its controller in this server; \`nasnet worker\` processes, on any machine that
    reaches the store, train its samples. Needs the bearer token. Errors name the field:
    \`input.config.samples must be >= 1 (got 0)\`.
    """
    createExperiment(input: CreateExperimentInput!): Experiment!
    """
    Runs the controller of a stopped or crashed experiment (or one created with
    \`start: false\`) in this server, as \`nasnet resume --workers 0\` would: it replays the
    recorded updates, then samples what is missing. Needs the bearer token.
    """
    resumeExperiment(id: ID!): Experiment!
  }

  input CreateExperimentInput {
    "Default \`exp-<yyyymmdd-hhmmss>-<4 hex>\`."
    id: ID
    "tiny, demo, small or paper (default demo): the configuration \`config\` is laid over."
    preset: String
    """
    Configuration fields over the preset, as in a \`nasnet search --config\` file, e.g.
    {samples: 200, trainer: "synthetic", controller: {batchSize: 20}}.
    """
    config: JSON
    "The experiment seed (controller sampling, child initialisation); default 1."
    seed: Int
    "Run the controller in this server now (default true); false leaves it for resumeExperiment or nasnet resume."
    start: Boolean
  }

  type Subscription {
    """
    Events as they are appended, by this process or another. Without \`after\` it starts at
    the head; with \`after\` it first delivers what was appended after that position.
    """
    events(experimentId: ID, types: [String!], after: String): Event!
  }

  ${enumType('ExperimentStatus', EXPERIMENT_STATUSES)}
  ${enumType('SampleStatus', SAMPLE_STATUSES)}
  ${enumType('TrialStatus', TRIAL_STATUSES)}
  ${enumType('TransferStatus', TRANSFER_STATUSES)}
  "Where a sample's reward came from."
  ${enumType('RewardSource', REWARD_SOURCES)}

  enum SampleOrder {
    "By sample index, ascending."
    INDEX
    "Highest reward first; ties, then samples without a reward, by index."
    REWARD_DESC
    "Lowest reward first; ties, then samples without a reward, by index."
    REWARD_ASC
    "By the time the reward arrived, earliest first; ties, then samples without a reward, by index."
    COMPLETED_AT
  }

  "Which samples a connection keeps: every field given must match (absent fields match all)."
  input SampleFilter {
    "Any of these statuses."
    status: [SampleStatus!]
    "Rewards at least this (inclusive); samples without a reward never match a bound."
    minReward: Float
    "Rewards at most this (inclusive)."
    maxReward: Float
    "Drawn by this policy version."
    policyVersion: Int
    "This canonical cell hash (\`Sample.cellHash\`): every sample of one cell."
    cellHash: String
  }

  enum ExperimentOrder {
    "Oldest first (ties by id)."
    CREATED_AT
    "Newest first (ties by id, descending)."
    CREATED_AT_DESC
  }

  "Which experiments a page keeps: every field given must match."
  input ExperimentFilter {
    "Any of these statuses."
    status: [ExperimentStatus!]
    "e.g. ppo, reinforce, random, evolution"
    strategy: String
    "e.g. synthetic, tfjs, torch, process, or a plugin's name"
    trainer: String
  }

  type ExperimentConnection {
    edges: [ExperimentEdge!]!
    pageInfo: PageInfo!
  }

  type ExperimentEdge {
    node: Experiment!
    cursor: String!
  }

  type Experiment {
    id: ID!
    status: ExperimentStatus!
    "ISO-8601 time of ExperimentCreated."
    createdAt: String!
    "ISO-8601 time of the experiment's latest event."
    updatedAt: String!
    "The configuration as stored in ExperimentCreated."
    config: JSON!
    seed: Int!
    strategy: String
    trainer: String
    dataset: String
    "Architectures drawn so far."
    sampleCount: Int!
    "Samples rewarded by training or reuse."
    completedCount: Int!
    "Samples given the failure reward."
    failedCount: Int!
    bestReward: Float
    bestSample: Sample
    policyVersion: Int
    """
    The samples a page at a time (Relay connection, keyset cursors): \`first\` after \`after\`
    (forwards), or \`last\` before \`before\` (backwards; the page is still in the order's
    direction); 20 forwards when neither size is given.
    """
    samples(first: Int, after: String, last: Int, before: String, orderBy: SampleOrder = INDEX, filter: SampleFilter): SampleConnection!
    "The best distinct cells (by canonical hash), best first; ties to the lower index."
    bestCells(top: Int = 5): [Sample!]!
    policyUpdates: [PolicyUpdate!]!
    """
    Every rewarded sample, by index. With \`maxPoints\`, a longer curve is thinned to
    evenly spaced points (the last always kept); \`bestSoFar\` still counts every sample.
    """
    rewardCurve(maxPoints: Int): [RewardPoint!]!
  }

  type SampleConnection {
    edges: [SampleEdge!]!
    pageInfo: PageInfo!
  }

  type SampleEdge {
    node: Sample!
    cursor: String!
  }

  type PageInfo {
    "Whether edges come after this page (exact for samples and experiments, in either direction)."
    hasNextPage: Boolean!
    "Cursor of the last edge; null for an empty page."
    endCursor: String
    "Whether edges come before this page; always false for \`events\`, which pages forwards only."
    hasPreviousPage: Boolean!
    "Cursor of the first edge; null for an empty page."
    startCursor: String
  }

  type Sample {
    id: ID!
    experimentId: ID!
    index: Int!
    policyVersion: Int!
    "The canonical hash: equal for cells that compute the same function."
    cellHash: String!
    normal: Cell!
    reduction: Cell!
    "The genotype as JSON: {normal, reduction} blocks [opA, inputA, opB, inputB, combine]."
    genotype: JSON!
    "The genotype as DARTS writes it, \`Genotype(normal=[…], …)\`, in DARTS's state numbering (its 0 is h[i-1])."
    darts: String!
    "The controller's decisions (50 integers)."
    actions: [Int!]!
    logProb: Float!
    entropy: Float!
    status: SampleStatus!
    reward: Float
    rewardSource: RewardSource
    "True when the reward was copied from an earlier sample of the same cell."
    reused: Boolean!
    reusedFrom: ID
    sampledAt: String!
    finishedAt: String
    "Training attempts, in order."
    trials: [Trial!]!
  }

  type Cell {
    blocks: [Block!]!
    "Hidden states joined into the cell's output (0 = h[i], 1 = h[i-1], 2… = blocks)."
    concat: [Int!]!
    "One line per block and one for the output, e.g. \`b0 = sep_conv5x5(h[i]) + sep_conv3x3(h[i-1])\`."
    text: String!
    "Graphviz source drawing the cell."
    dot: String!
  }

  type Block {
    "Hidden state read by the first op: 0 = h[i], 1 = h[i-1], k+2 = block k."
    inputA: Int!
    inputB: Int!
    opA: String!
    opB: String!
    "add or concat"
    combine: String!
  }

  type Trial {
    "\`<sampleId>#<attempt>\`"
    id: ID!
    sampleId: ID!
    attempt: Int!
    worker: String
    plugin: String
    backend: String
    status: TrialStatus!
    validationAccuracy: Float
    testAccuracy: Float
    loss: Float
    params: Float
    multAdds: Float
    seconds: Float
    imagesPerSec: Float
    error: String
    retryable: Boolean
    lastEpoch: Int
    epochs: Int
    leaseDeadline: String
    claimedAt: String
    finishedAt: String
    "What the trainer reported after each epoch, by epoch (heartbeats without metrics are left out)."
    metrics: [EpochMetrics!]!
    """
    This attempt's events from the trial's stream (claim, progress, heartbeats, result,
    release), in order, with their metadata (writer, correlation, time): the attempt's log.
    """
    events: [Event!]!
  }

  type EpochMetrics {
    "1-based."
    epoch: Int!
    epochs: Int!
    "Metric name → value as the trainer reported it (e.g. the epoch's loss and accuracy)."
    metrics: JSON!
    "ISO-8601 time of the TrainingProgressed event."
    at: String!
  }

  type PolicyUpdate {
    "The policy version this update produced."
    version: Int!
    sampleIds: [ID!]!
    rewards: [Float!]!
    meanReward: Float!
    baselineBefore: Float
    baselineAfter: Float
    "PPO statistics; null for strategies without them."
    loss: Float
    approxKl: Float
    clipFraction: Float
    entropy: Float
    epochs: Int
    paramsDigestBefore: String!
    paramsDigestAfter: String!
    "Global position of the PolicyUpdated event."
    position: String!
    at: String!
    """
    Evolution only (null for other strategies): the population this update left — the
    last P samples before the next batch, read from the samples, not by replaying the
    controller — best first; ties to the youngest, as the tournament breaks them.
    """
    population(top: Int = 5): [Sample!]
    "Evolution only: how many members that population held (at most P)."
    populationSize: Int
  }

  type RewardPoint {
    index: Int!
    sampleId: ID!
    reward: Float!
    source: RewardSource!
    "The best trained or reused reward up to this index (failure rewards never count)."
    bestSoFar: Float
  }

  type Event {
    "The event's UUID."
    id: ID!
    "Global position in the log (commit order)."
    position: String!
    stream: String!
    "0-based index in its stream."
    revision: String!
    type: String!
    version: Int!
    "data.experimentId, when the event belongs to an experiment."
    experimentId: ID
    data: JSON!
    metadata: EventMetadata!
  }

  type EventMetadata {
    timestamp: String!
    correlationId: String!
    causationId: String
    writerId: String!
  }

  type EventConnection {
    edges: [EventEdge!]!
    pageInfo: PageInfo!
  }

  type EventEdge {
    node: Event!
    "The event's global position."
    cursor: String!
  }

  type AuditReport {
    ok: Boolean!
    checkedSamples: Int!
    checkedUpdates: Int!
    firstDivergence: AuditDivergence
    "Global position of the last event the audit read: what it covers (\\"0\\" before any)."
    position: String!
    """
    Where this audit began: "0" when it replayed the experiment from its first event, else
    the position an earlier audit on this server had verified, from which it went on (after
    checking the log still holds the event it stopped at). \`nasnet audit\` always starts at "0".
    """
    from: String!
  }

  type AuditDivergence {
    position: String!
    eventType: String!
    what: String!
    expected: JSON
    found: JSON
  }

  type Transfer {
    id: ID!
    "The genotype's source, e.g. \`nasnet-a\` or \`exp1#best\`."
    source: String!
    normal: Cell!
    reduction: Cell!
    genotype: JSON!
    "The genotype as DARTS writes it, in DARTS's state numbering."
    darts: String!
    N: Int!
    F: Int!
    dataset: String!
    config: JSON!
    status: TransferStatus!
    lastEpoch: Int
    epochs: Int
    validationAccuracy: Float
    testAccuracy: Float
    loss: Float
    params: Float
    multAdds: Float
    seconds: Float
    imagesPerSec: Float
    backend: String
    error: String
    requestedAt: String!
    finishedAt: String
  }
`;
