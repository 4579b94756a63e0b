// An in-memory store adapter for atlassian-connect-express, registered through ACE's public
// `ace.store.register` API. ACE's default store (Sequelize on an in-memory SQLite) needs the
// native `sqlite3` package, whose install downloads a prebuilt binary from outside the npm
// registry; this adapter keeps the same interface (that of ACE's own Redis adapter) in a Map.

class MemoryStore {
  constructor() {
    this.values = new Map();
  }

  static key(key, clientKey) {
    return clientKey ? `${clientKey}:${key}` : key;
  }

  async get(key, clientKey) {
    const value = this.values.get(MemoryStore.key(key, clientKey));
    return value === undefined ? null : structuredClone(value);
  }

  async set(key, value, clientKey) {
    this.values.set(MemoryStore.key(key, clientKey), structuredClone(value));
    return this.get(key, clientKey);
  }

  async del(key, clientKey) {
    this.values.delete(MemoryStore.key(key, clientKey));
  }

  async saveInstallation(value, clientKey) {
    const saved = await this.set("clientInfo", value, clientKey);
    if (saved.installationId) {
      await this.associateInstallations(saved.installationId, clientKey);
    }
    return saved;
  }

  async getAllClientInfos() {
    return [...this.values.entries()]
      .filter(([key]) => key.endsWith(":clientInfo"))
      .map(([, value]) => structuredClone(value));
  }

  isMemoryStore() {
    return true;
  }

  async associateInstallations(installationId, clientKey) {
    this.values.set(`installation:${installationId}`, clientKey);
  }

  async deleteAssociation(installationId) {
    this.values.delete(`installation:${installationId}`);
  }

  async getClientSettingsForForgeInstallation(installationId) {
    const clientKey = this.values.get(`installation:${installationId}`);
    return clientKey ? this.get("clientInfo", clientKey) : null;
  }

  forForgeInstallation(installationId) {
    const prefix = `forge:${installationId}:`;
    return {
      get: async key => this.get(prefix + key),
      set: async (key, value) => this.set(prefix + key, value),
      del: async key => this.del(prefix + key)
    };
  }
}

module.exports = function memoryStore() {
  return new MemoryStore();
};
