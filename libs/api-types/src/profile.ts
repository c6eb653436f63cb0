// Profiles (rest-api.yaml definitions/Profile*). A profile holds instance config and devices applied to instances.

/** The writable part of a profile (PUT /1.0/profiles/{name}); also what its ETag covers. */
export interface ProfilePut {
  config: Record<string, string>;
  description: string;
  devices: Record<string, Record<string, string>>;
}

/** POST /1.0/profiles */
export interface ProfilesPost extends ProfilePut {
  name: string;
}

/** POST /1.0/profiles/{name} (rename) */
export interface ProfilePost {
  name: string;
}

/** GET /1.0/profiles/{name} */
export interface Profile extends ProfilePut {
  name: string;
  /** URLs of the instances using the profile. */
  used_by: string[];
}
