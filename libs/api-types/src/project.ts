// Projects (rest-api.yaml definitions/Project*).

/** The writable part of a project (PUT /1.0/projects/{name}); also what its ETag covers. */
export interface ProjectPut {
  config: Record<string, string>;
  description: string;
}

/** POST /1.0/projects */
export interface ProjectsPost extends ProjectPut {
  name: string;
}

/** POST /1.0/projects/{name} (rename) */
export interface ProjectPost {
  name: string;
}

/** GET /1.0/projects/{name} */
export interface Project extends ProjectPut {
  name: string;
  /** URLs of everything that lives in the project (instances, profiles, images, volumes, networks). */
  used_by: string[];
}

export type ProjectResource =
  | 'containers'
  | 'cpu'
  | 'disk'
  | 'instances'
  | 'memory'
  | 'networks'
  | 'processes'
  | 'virtual-machines';

/** One resource of GET /1.0/projects/{name}/state. LXD's struct has no JSON tags, hence the capitalised names. */
export interface ProjectStateResource {
  /** -1 when the project sets no limit. */
  Limit: number;
  Usage: number;
}

/** GET /1.0/projects/{name}/state */
export interface ProjectState {
  resources: Record<ProjectResource, ProjectStateResource>;
}
