#!/usr/bin/env node
/**
 * Generates servicenow/update-set.xml, the update set that installs the FlowQuest ServiceNow side in one
 * import (System Update Sets > Retrieved Update Sets > Import Update Set from XML), from the sources:
 * update-set.json (name, date, properties), the Script Include and the business rules (.js + .json).
 *
 *   node servicenow/build-update-set.mjs            writes servicenow/update-set.xml
 *   node servicenow/build-update-set.mjs --check    exits 1 when update-set.xml is not what the sources give
 *   node servicenow/build-update-set.mjs --stdout   prints it
 *
 * Plain Node, no dependencies. The output is deterministic: sys_ids derive from the record's table and
 * name (so a later version updates the same records), dates from update-set.json, update_guid from the
 * payload. Everything is global scope (GlideCertificateEncryption is a global-scope API).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const OUTPUT = path.join(HERE, 'update-set.xml');

const GLOBAL = { display_value: 'Global' };
const PACKAGE = { display_value: 'Global', source: 'global' };

/** A 32-hex sys_id derived from stable names. */
function sysId(...parts) {
  return createHash('md5').update(['flowquest', ...parts].join(':')).digest('hex');
}

/** Java's String.hashCode, the form of sys_update_xml.payload_hash. */
function javaHash(text) {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

function escapeText(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text) {
  return escapeText(text).replace(/"/g, '&quot;');
}

function cdata(text) {
  return `<![CDATA[${String(text).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

/**
 * One field element. value: string | number | boolean, or { value, attributes, cdata }.
 */
function field(name, spec) {
  const { value, attributes = {}, asCdata = false } = typeof spec === 'object' && spec !== null ? spec : { value: spec };
  const attrs = Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`)
    .join('');
  const text = String(value ?? '');
  if (text === '') return `<${name}${attrs}/>`;
  return `<${name}${attrs}>${asCdata ? cdata(text) : escapeText(text)}</${name}>`;
}

/** A record element with its fields in name order, as the platform writes them. */
function recordXml(table, fields, separator = '') {
  const body = Object.keys(fields)
    .sort()
    .map((name) => field(name, fields[name]))
    .join(separator);
  return `<${table} action="INSERT_OR_UPDATE">${separator}${body}${separator}</${table}>`;
}

function audit(manifest, table, id, name) {
  return {
    sys_class_name: table,
    sys_created_by: manifest.author,
    sys_created_on: manifest.release_date,
    sys_id: id,
    sys_mod_count: 0,
    sys_name: name,
    sys_package: { value: 'global', attributes: PACKAGE },
    sys_policy: '',
    sys_scope: { value: 'global', attributes: GLOBAL },
    sys_update_name: `${table}_${id}`,
    sys_updated_by: manifest.author,
    sys_updated_on: manifest.release_date,
  };
}

function read(relative) {
  return readFileSync(path.join(HERE, relative), 'utf8');
}

/** The records to install, in commit order: properties, the Script Include, then the business rules. */
function updates(manifest) {
  const list = [];
  for (const property of manifest.properties) {
    const id = sysId('sys_properties', property.name);
    list.push({
      table: 'sys_properties',
      id,
      type: 'System Property',
      targetName: property.name,
      recordTable: '',
      fields: {
        ...audit(manifest, 'sys_properties', id, property.name),
        choices: '',
        description: property.description,
        ignore_cache: false,
        // Per-instance values (and a secret): kept out of update sets captured later on this instance.
        is_private: true,
        name: property.name,
        read_roles: 'admin',
        type: property.type,
        value: '',
        write_roles: 'admin',
      },
    });
  }

  const include = manifest.script_include;
  const includeId = sysId('sys_script_include', include.name);
  list.push({
    table: 'sys_script_include',
    id: includeId,
    type: 'Script Include',
    targetName: include.name,
    recordTable: '',
    fields: {
      ...audit(manifest, 'sys_script_include', includeId, include.name),
      access: 'package_private',
      active: true,
      api_name: `global.${include.name}`,
      caller_access: '',
      client_callable: false,
      description: include.description,
      name: include.name,
      sandbox_callable: false,
      script: { value: read(include.file), asCdata: true },
    },
  });

  for (const metaFile of manifest.business_rules) {
    const meta = JSON.parse(read(metaFile));
    const script = read(metaFile.replace(/\.json$/, '.js'));
    const id = sysId('sys_script', meta.name);
    list.push({
      table: 'sys_script',
      id,
      type: 'Business Rule',
      targetName: meta.name,
      recordTable: meta.collection,
      fields: {
        ...audit(manifest, 'sys_script', id, meta.name),
        abort_action: false,
        access: 'package_private',
        action_delete: meta.action_delete,
        action_insert: meta.action_insert,
        action_query: false,
        action_update: meta.action_update,
        active: true,
        add_message: false,
        advanced: true,
        change_fields: false,
        client_callable: false,
        collection: meta.collection,
        condition: meta.condition,
        description: meta.description,
        execute_function: false,
        filter_condition: { value: '', attributes: { table: meta.collection } },
        is_rest: false,
        message: '',
        name: meta.name,
        order: meta.order,
        priority: 100,
        rest_method: '',
        rest_method_text: '',
        rest_service: '',
        rest_service_text: '',
        rest_variables: '',
        role_conditions: '',
        script: { value: script, asCdata: true },
        sys_domain: 'global',
        sys_domain_path: '/',
        sys_overrides: '',
        template: '',
        when: meta.when,
      },
    });
  }
  return list;
}

/** sys_recorded_at as the platform writes it: hex of (epoch ms << 4) and a sequence; one step per record. */
function recordedAt(releaseDate, index) {
  const ms = Date.parse(`${releaseDate.replace(' ', 'T')}Z`) + index;
  return `${(BigInt(ms) << 4n).toString(16)}000001`;
}

export function buildUpdateSet() {
  const manifest = JSON.parse(read('update-set.json'));
  const setId = sysId('sys_remote_update_set', manifest.name);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<unload unload_date="${manifest.release_date}">`];
  lines.push(
    recordXml(
      'sys_remote_update_set',
      {
        application: { value: 'global', attributes: GLOBAL },
        application_name: 'Global',
        application_scope: 'global',
        application_version: '',
        collisions: '',
        commit_date: '',
        deleted: '',
        description: manifest.description,
        inserted: '',
        name: manifest.name,
        origin_sys_id: '',
        parent: { value: '', attributes: { display_value: '' } },
        release_date: manifest.release_date,
        remote_base_update_set: { value: '', attributes: { display_value: '' } },
        remote_parent_id: '',
        remote_sys_id: sysId('sys_update_set', manifest.name),
        state: 'loaded',
        summary: '',
        sys_class_name: 'sys_remote_update_set',
        sys_created_by: manifest.author,
        sys_created_on: manifest.release_date,
        sys_id: setId,
        sys_mod_count: 0,
        sys_updated_by: manifest.author,
        sys_updated_on: manifest.release_date,
        update_set: { value: '', attributes: { display_value: '' } },
        update_source: { value: '', attributes: { display_value: '' } },
        updated: '',
      },
      '\n',
    ),
  );
  updates(manifest).forEach((update, index) => {
    const payload =
      `<?xml version="1.0" encoding="UTF-8"?><record_update table="${update.table}">` +
      recordXml(update.table, update.fields) +
      '</record_update>';
    const hash = javaHash(payload);
    const guid = createHash('md5').update(payload, 'utf8').digest('hex');
    lines.push(
      recordXml(
        'sys_update_xml',
        {
          action: 'INSERT_OR_UPDATE',
          application: { value: 'global', attributes: GLOBAL },
          category: 'customer',
          comments: '',
          name: `${update.table}_${update.id}`,
          payload,
          payload_hash: hash,
          remote_update_set: { value: setId, attributes: { display_value: manifest.name } },
          replace_on_upgrade: false,
          sys_created_by: manifest.author,
          sys_created_on: manifest.release_date,
          sys_id: sysId('sys_update_xml', update.table, update.id),
          sys_mod_count: 0,
          sys_recorded_at: recordedAt(manifest.release_date, index),
          sys_updated_by: manifest.author,
          sys_updated_on: manifest.release_date,
          table: update.recordTable,
          target_name: update.targetName,
          type: update.type,
          update_domain: 'global',
          update_guid: guid,
          update_guid_history: `${guid}:${hash}`,
          update_set: { value: '', attributes: { display_value: '' } },
          view: '',
        },
        '\n',
      ),
    );
  });
  lines.push('</unload>');
  return `${lines.join('\n')}\n`;
}

function main(args) {
  const xml = buildUpdateSet();
  if (args.includes('--stdout')) {
    process.stdout.write(xml);
    return 0;
  }
  if (args.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(OUTPUT, 'utf8');
    } catch {
      // missing: differs
    }
    if (committed === xml) return 0;
    console.error(`${path.relative(process.cwd(), OUTPUT)} is out of date: run node servicenow/build-update-set.mjs`);
    return 1;
  }
  writeFileSync(OUTPUT, xml);
  console.log(`wrote ${path.relative(process.cwd(), OUTPUT)}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
