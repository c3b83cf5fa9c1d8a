/**
 * FlowQuest: notify bridge (incident). After insert/update; the condition (see the .json beside this
 * file) already keeps only the changes the bridge turns into notifications by default:
 * assigned_to changed (or set on insert) and not empty, or priority changed to (or inserted as) 1 or 2.
 */
(function executeRule(current, previous /* null on insert */) {
    new FlowQuestWebhook().notify(current, previous);
})(current, previous);
