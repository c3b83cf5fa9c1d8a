/**
 * FlowQuest: notify bridge (approval). After insert/update; the condition (see the .json beside this
 * file) keeps only approvals that become (or are inserted as) requested.
 */
(function executeRule(current, previous /* null on insert */) {
    new FlowQuestWebhook().notify(current, previous);
})(current, previous);
