/**
 * FlowQuestWebhook: sends a record change to the FlowQuest Bridge as a signed webhook
 * (CONTRACT.md sections 1 and 7). Global scope, ES5 (Rhino), called from the FlowQuest business rules:
 *
 *     new FlowQuestWebhook().notify(current, previous);
 *
 * What it does, in order:
 *  1. reads the system properties x_flowquest.endpoint, x_flowquest.instance_id and
 *     x_flowquest.webhook_secret (password2, the bridge's "whsec_..." secret);
 *  2. builds the event envelope v1 from `current`: event (from operation()), table, sys_id, number,
 *     sys_updated_on (UTC), sys_updated_by, changed (the carried fields whose changes() is true),
 *     record (raw values, all strings) and display (display values of reference fields);
 *  3. serialises it as JSON with every non-ASCII character written as a \uXXXX escape, so the signed
 *     string and the bytes on the wire are the same ASCII bytes whatever charset the platform uses;
 *  4. POSTs it to {endpoint}/api/webhooks/servicenow/{instance_id}, signed the Standard Webhooks way:
 *     webhook-signature = "v1," + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"));
 *  5. retries a send that got no response, a 429 or a 5xx, at most maxAttempts times in all, with the
 *     same webhook-id (the bridge's idempotency key) and a fresh timestamp and signature per attempt.
 *     2xx (202 accepted/filtered, 200 duplicate) ends it; any other answer (4xx) is not retried.
 *
 * It must be called while the record's own transaction runs (an *after* business rule): that is where
 * operation(), changes() and the values belong to this change. See docs/servicenow.md.
 * It never logs the secret, a signature or a request body, and never throws into the caller.
 */
var FlowQuestWebhook = Class.create();

FlowQuestWebhook.prototype = {
    /**
     * @param {Object} [options] { maxAttempts: 3, httpTimeoutMs: 5000 } by default.
     */
    initialize: function (options) {
        var o = options || {};
        this.maxAttempts = o.maxAttempts >= 1 ? Math.floor(o.maxAttempts) : 3;
        this.httpTimeoutMs = o.httpTimeoutMs >= 1 ? Math.floor(o.httpTimeoutMs) : 5000;
    },

    /** The fields each supported table sends in `record`, and those of them that are references. */
    TABLES: {
        incident: {
            fields: ['priority', 'impact', 'urgency', 'state', 'short_description', 'assigned_to',
                'assignment_group', 'caller_id', 'category'],
            references: ['assigned_to', 'assignment_group', 'caller_id']
        },
        sysapproval_approver: {
            fields: ['state', 'approver', 'sysapproval', 'source_table', 'document_id', 'due_date'],
            references: ['approver', 'sysapproval']
        }
    },

    EVENTS: { 'insert': 'record.inserted', 'update': 'record.updated', 'delete': 'record.deleted' },

    PROPERTY_ENDPOINT: 'x_flowquest.endpoint',
    PROPERTY_INSTANCE_ID: 'x_flowquest.instance_id',
    PROPERTY_SECRET: 'x_flowquest.webhook_secret',

    BASE64: new RegExp('^[A-Za-z0-9+/]+={0,2}$'),

    /**
     * Builds, signs and sends the event for `current`. `previous` is accepted for the business-rule
     * signature only: changed fields come from current.<field>.changes().
     * @returns {Object} { outcome, id, status, attempts, notifications } — outcome is one of accepted,
     *   filtered, duplicate, delivered (another 2xx), rejected (4xx), failed (retries exhausted),
     *   not_configured, unsupported_table, error.
     */
    notify: function (current, previous) {
        try {
            var settings = this._settings();
            if (!settings) return this._result('not_configured', '', 0, 0, null);
            var envelope = this.buildEnvelope(current);
            if (!envelope) return this._result('unsupported_table', '', 0, 0, null);
            return this._send(settings, this.serialize(envelope), envelope.table + ' ' + (envelope.number || envelope.sys_id));
        } catch (e) {
            gs.error('FlowQuestWebhook: unexpected error, nothing sent: ' + this._redact(this._errorText(e)));
            return this._result('error', '', 0, 0, null);
        }
    },

    /**
     * Sends an already serialised envelope (for example one captured earlier and queued), with the same
     * signing and retries as notify().
     */
    deliver: function (body, label) {
        try {
            var settings = this._settings();
            if (!settings) return this._result('not_configured', '', 0, 0, null);
            return this._send(settings, '' + body, label || 'event');
        } catch (e) {
            gs.error('FlowQuestWebhook: unexpected error, nothing sent: ' + this._redact(this._errorText(e)));
            return this._result('error', '', 0, 0, null);
        }
    },

    /** The event envelope v1 of `current`, or null for a table this class does not know. */
    buildEnvelope: function (current) {
        var table = '' + current.getTableName();
        var spec = Object.prototype.hasOwnProperty.call(this.TABLES, table) ? this.TABLES[table] : null;
        if (!spec) {
            gs.warn('FlowQuestWebhook: table ' + table + ' is not supported; nothing sent');
            return null;
        }
        var operation = this._operation(current);
        var record = {};
        var changed = [];
        var i;
        for (i = 0; i < spec.fields.length; i++) {
            var field = spec.fields[i];
            record[field] = this._value(current, field);
            if (operation === 'update' && this._changes(current, field)) changed.push(field);
        }
        var display = {};
        var hasDisplay = false;
        for (i = 0; i < spec.references.length; i++) {
            var reference = spec.references[i];
            if (record[reference] === '') continue;
            var shown = current.getDisplayValue(reference);
            if (shown === null || shown === undefined || ('' + shown) === '') continue;
            display[reference] = '' + shown;
            hasDisplay = true;
        }

        var envelope = {
            event: this.EVENTS[operation],
            table: table,
            sys_id: '' + current.getUniqueValue()
        };
        var number = this._value(current, 'number');
        if (/^[A-Za-z0-9_-]{1,40}$/.test(number)) envelope.number = number;
        envelope.sys_updated_on = this._value(current, 'sys_updated_on');
        var updatedBy = this._value(current, 'sys_updated_by');
        if (updatedBy !== '') envelope.sys_updated_by = updatedBy;
        envelope.changed = changed;
        envelope.record = record;
        if (hasDisplay) envelope.display = display;
        return envelope;
    },

    /** JSON with every character from U+007F up written as \uXXXX (UTF-16 code units): ASCII only. */
    serialize: function (envelope) {
        return JSON.stringify(envelope).replace(/[\u007f-\uffff]/g, function (c) {
            return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
        });
    },

    _send: function (settings, body, label) {
        var id = '' + gs.generateGUID();
        var url = settings.endpoint + '/api/webhooks/servicenow/' + settings.instanceId;
        var last = null;
        for (var attempt = 1; attempt <= this.maxAttempts; attempt++) {
            last = this._attempt(url, id, body, settings.key);
            var where = 'FlowQuestWebhook: ' + label + ' (webhook-id ' + id + ', attempt ' + attempt + '/' + this.maxAttempts + ')';
            if (last.status >= 200 && last.status <= 299) {
                var outcome = last.answer === 'accepted' || last.answer === 'filtered' || last.answer === 'duplicate' ? last.answer : 'delivered';
                gs.info(where + ': HTTP ' + last.status + ' ' + outcome +
                    (last.notifications !== null ? ', ' + last.notifications + ' notification(s)' : ''));
                return this._result(outcome, id, last.status, attempt, last.notifications);
            }
            var retryable = last.status === 0 || last.status === 429 || (last.status >= 500 && last.status <= 599);
            if (!retryable) {
                gs.error(where + ': rejected, ' + this._describe(last) + '; not retried' + this._hint(last));
                return this._result('rejected', id, last.status, attempt, null);
            }
            if (attempt < this.maxAttempts) {
                gs.warn(where + ': ' + this._describe(last) + '; retrying with the same webhook-id');
            } else {
                gs.error(where + ': ' + this._describe(last) + '; giving up after ' + attempt +
                    ' attempts, the event is not delivered');
            }
        }
        return this._result('failed', id, last ? last.status : 0, this.maxAttempts, null);
    },

    /** One signed POST. Returns { status (0 = no response), answer, code, notifications, error }. */
    _attempt: function (url, id, body, key) {
        var outcome = { status: 0, answer: '', code: '', notifications: null, error: '' };
        var mac = '';
        try {
            var timestamp = Math.floor(new GlideDateTime().getNumericValue() / 1000);
            mac = '' + new GlideCertificateEncryption().generateMac(key, 'HmacSHA256', id + '.' + timestamp + '.' + body);
            var request = new sn_ws.RESTMessageV2();
            request.setEndpoint(url);
            request.setHttpMethod('post');
            request.setRequestHeader('content-type', 'application/json; charset=utf-8');
            request.setRequestHeader('webhook-id', id);
            request.setRequestHeader('webhook-timestamp', '' + timestamp);
            request.setRequestHeader('webhook-signature', 'v1,' + mac);
            request.setRequestBody(body);
            request.setHttpTimeout(this.httpTimeoutMs);
            var response = request.execute();
            outcome.status = parseInt('' + response.getStatusCode(), 10) || 0;
            if (outcome.status === 0) {
                outcome.error = response.haveError() ? '' + response.getErrorMessage() : 'no response';
            } else {
                this._readAnswer(response, outcome);
            }
        } catch (e) {
            outcome.status = 0;
            outcome.error = this._errorText(e);
        }
        outcome.error = this._redact(outcome.error, [mac]);
        return outcome;
    },

    /** The bridge's JSON answer: status (accepted/filtered/duplicate), notifications, or a problem code. */
    _readAnswer: function (response, outcome) {
        var text = response.getBody();
        if (!text) return;
        try {
            var answer = JSON.parse('' + text);
            if (answer && typeof answer.status === 'string') outcome.answer = answer.status;
            if (answer && typeof answer.code === 'string') outcome.code = answer.code;
            if (answer && typeof answer.notifications === 'number') outcome.notifications = answer.notifications;
        } catch (ignored) {
            // not JSON (a proxy's error page): the status code says enough
        }
    },

    /** The three properties, checked; null (and a warning that names the property, never its value) when unusable. */
    _settings: function () {
        var endpoint = this._property(this.PROPERTY_ENDPOINT).replace(/\/+$/, '');
        var instanceId = this._property(this.PROPERTY_INSTANCE_ID);
        var secret = this._property(this.PROPERTY_SECRET);
        var key = secret.indexOf('whsec_') === 0 ? secret.substring(6) : secret;
        var problem = '';
        if (!/^https?:\/\/[^\s?#]+$/.test(endpoint)) {
            problem = this.PROPERTY_ENDPOINT + ' must be the bridge base URL, such as https://<app>.azurewebsites.net';
        } else if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(instanceId)) {
            problem = this.PROPERTY_INSTANCE_ID + ' must be the instance id registered at the bridge (lowercase letters, digits, -)';
        } else if (!this.BASE64.test(key) || key.length % 4 !== 0 || key.length < 24) {
            problem = this.PROPERTY_SECRET + ' must hold the whsec_ secret the bridge returned for this instance';
        }
        this._secrets = [secret, key];
        if (problem) {
            gs.warn('FlowQuestWebhook: not configured, nothing sent: ' + problem);
            return null;
        }
        return { endpoint: endpoint, instanceId: instanceId, key: key };
    },

    _property: function (name) {
        var value = gs.getProperty(name, '');
        return value === null || value === undefined ? '' : ('' + value).replace(/^\s+|\s+$/g, '');
    },

    _operation: function (current) {
        var operation = '' + current.operation();
        if (operation === 'insert' || operation === 'update' || operation === 'delete') return operation;
        return current.isNewRecord() ? 'insert' : 'update';
    },

    /** getValue() as a string; it returns null for an empty field (or one the table does not have). */
    _value: function (current, field) {
        var value = current.getValue(field);
        return value === null || value === undefined ? '' : '' + value;
    },

    _changes: function (current, field) {
        var element = current[field];
        return !!(element && typeof element.changes === 'function' && element.changes());
    },

    _describe: function (outcome) {
        if (outcome.status === 0) return 'no response (' + (outcome.error || 'unknown error') + ')';
        return 'HTTP ' + outcome.status + (outcome.code ? ' ' + outcome.code : '');
    },

    _hint: function (outcome) {
        if (outcome.code === 'TIMESTAMP_OUT_OF_TOLERANCE') return ' (the instance clock is more than 300 s off the bridge clock)';
        if (outcome.code === 'INVALID_SIGNATURE') return ' (check that ' + this.PROPERTY_SECRET + ' holds the current secret of this instance)';
        if (outcome.code === 'UNKNOWN_INSTANCE' || outcome.status === 404) return ' (check ' + this.PROPERTY_INSTANCE_ID + ' and ' + this.PROPERTY_ENDPOINT + ')';
        return '';
    },

    _errorText: function (e) {
        return '' + (e && e.message ? e.message : e);
    },

    /** Removes the secret (and any signature passed in) from text that is about to be logged. */
    _redact: function (text, extra) {
        var result = '' + text;
        var list = (this._secrets || []).concat(extra || []);
        for (var i = 0; i < list.length; i++) {
            if (list[i] && list[i].length >= 8) result = result.split(list[i]).join('[redacted]');
        }
        return result.length > 300 ? result.substring(0, 300) + '...' : result;
    },

    _result: function (outcome, id, status, attempts, notifications) {
        return { outcome: outcome, id: id, status: status, attempts: attempts, notifications: notifications };
    },

    type: 'FlowQuestWebhook'
};
