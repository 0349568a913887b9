-- A workspace database made by cluster_mapper before migrations (commit 1966648: Store() ran Base.metadata.create_all),
-- dumped with sqlite3's iterdump: users, a project, a done and a failed version, an edit and an open proposal.
BEGIN TRANSACTION;
CREATE TABLE edits (
	id INTEGER NOT NULL, 
	plan_id INTEGER NOT NULL, 
	action VARCHAR(40) NOT NULL, 
	school_id VARCHAR(120) NOT NULL, 
	other_school_id VARCHAR(120) NOT NULL, 
	cluster_id VARCHAR(120) NOT NULL, 
	minutes VARCHAR(40) NOT NULL, 
	note TEXT NOT NULL, 
	author VARCHAR(80) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(plan_id) REFERENCES plans (id)
);
INSERT INTO "edits" VALUES(1,2,'apart','S1','S2','','','the bridge is down','rafi','2026-11-30 09:00:00.000000');
CREATE TABLE plans (
	id INTEGER NOT NULL, 
	project_id INTEGER NOT NULL, 
	parent_id INTEGER, 
	status VARCHAR(20) NOT NULL, 
	folder TEXT NOT NULL, 
	summary JSON, 
	valid BOOLEAN, 
	violations JSON, 
	error TEXT NOT NULL, 
	problems JSON, 
	created_by VARCHAR(80) NOT NULL, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	seconds DOUBLE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(project_id) REFERENCES projects (id), 
	FOREIGN KEY(parent_id) REFERENCES plans (id)
);
INSERT INTO "plans" VALUES(1,1,NULL,'done','projects/1/plans/1','{"teachers_placed": 2431, "clusters": 214}',1,'[]','',NULL,'mona','2026-11-30 09:00:00.000000','2026-11-30 09:00:00.000000',12.5);
INSERT INTO "plans" VALUES(2,1,1,'failed','projects/1/plans/2',NULL,NULL,NULL,'1 problem(s) in the inputs or edits; nothing was planned.','[{"file": "edits.csv", "row": 2, "field": "school_id", "message": "unknown", "fix": "use an id"}]','mona','2026-11-30 09:00:00.000000',NULL,NULL);
CREATE TABLE projects (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	folder TEXT NOT NULL, 
	inputs JSON NOT NULL, 
	created_by VARCHAR(80) NOT NULL, 
	created_at DATETIME NOT NULL, 
	accepted_plan_id INTEGER, 
	PRIMARY KEY (id)
);
INSERT INTO "projects" VALUES(1,'Mansehra 2026','projects/1','{"schools": "projects/1/inputs/schools.csv"}','mona','2026-11-30 09:00:00.000000',1);
CREATE TABLE proposals (
	id INTEGER NOT NULL, 
	plan_id INTEGER NOT NULL, 
	used_in_plan_id INTEGER, 
	action VARCHAR(40) NOT NULL, 
	school_id VARCHAR(120) NOT NULL, 
	other_school_id VARCHAR(120) NOT NULL, 
	cluster_id VARCHAR(120) NOT NULL, 
	minutes VARCHAR(40) NOT NULL, 
	note TEXT NOT NULL, 
	author VARCHAR(80) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(plan_id) REFERENCES plans (id)
);
INSERT INTO "proposals" VALUES(1,1,NULL,'cannot_host','S3','','','','no room','rafi','2026-11-30 09:00:00.000000');
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(80) NOT NULL, 
	password_hash VARCHAR(200) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "users" VALUES(1,'mona','$argon2id$v=19$m=65536,t=3,p=4$legacy$legacy','manager','2026-11-30 09:00:00.000000');
COMMIT;
