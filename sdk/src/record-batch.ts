// Placeholder: the RecordBatch v2 codec lands here (owned by the storage-file work).
export {};
