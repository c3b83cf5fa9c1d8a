/** What the console shows for one shared sample event; filled in at build time (build.ts). */
export interface FixtureButton {
  /** The fixture's file name, sent to the development ServiceNow's POST /dev/emit. */
  file: string;
  /** The file name without `.json`: the button's id is `fire-<name>`. */
  name: string;
  /** `record.inserted`, `record.updated`… */
  event: string;
  /** `incident`, `sysapproval_approver`… */
  table: string;
  /** `INC0010042`, or '' when the event has none. */
  number: string;
  /** The record's short description, or ''. */
  description: string;
}
