// The scope vocabulary and its rules, as the gateway applies them (gateway/scopes.py):
// used only to decide what to offer. The API enforces every rule itself.

export const ALL_SCOPES = [
  "read:objects",
  "write:objects",
  "delete:objects",
  "read:buckets",
  "write:buckets",
  "read:agents",
  "write:agents",
  "read:networking",
  "write:networking",
  "admin",
];

export const DESCRIPTIONS = {
  "read:objects": "download and list objects",
  "write:objects": "upload objects (includes delete:objects)",
  "delete:objects": "delete objects",
  "read:buckets": "list buckets",
  "write:buckets": "create and delete buckets",
  "read:agents": "read agents",
  "write:agents": "manage agents",
  "read:networking": "read networking",
  "write:networking": "manage networking",
  admin: "everything, including users and clients",
};

/** Whether holding `held` grants `needed`: admin grants all; write:objects grants delete. */
export function grants(held, needed) {
  if (held.includes("admin") || held.includes(needed)) return true;
  return needed === "delete:objects" && held.includes("write:objects");
}

/** The scopes a caller may put on a key it mints. */
export function mintable(held) {
  return ALL_SCOPES.filter((scope) => grants(held, scope));
}
