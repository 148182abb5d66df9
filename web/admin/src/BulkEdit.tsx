// src/BulkEdit.tsx — the list's "Bulk edit" action, for a table that allows bulk update and a
// token that may make it: a dialog to pick one column and its new value (the column's form
// input, src/inputs.tsx), set on every selected row with one PATCH /T/?__ids=… (the data
// provider's updateMany). A 422 shows under the value's input, other errors as a notification.
import { useState } from "react";
import { Dialog, DialogActions, DialogContent, DialogTitle } from "@mui/material";
import EditIcon from "@mui/icons-material/Edit";
import {
    Button, Form, FormDataConsumer, SaveButton, SelectInput, required, useListContext, useNotify,
    useRefresh, useResourceContext, useUpdateMany,
} from "react-admin";
import { columnInput } from "./inputs";
import type { Column, Table } from "./schema";

/* The form field holding the picked column's name; "__" keeps it apart from column names. */
const PICKED = "__column";

/* What a bulk edit may set: columns the API takes in a PATCH, but not the key (one value on
 * several rows would collide). */
function editableColumns(table: Table): Column[] {
    return table.columns.filter((column) => !column.readOnly && column.name !== table.primaryKey);
}

export function BulkEditButton({ table, tables }: { table: Table; tables: Table[] }) {
    const resource = useResourceContext();
    const { selectedIds, onUnselectItems } = useListContext();
    const [updateMany, { isPending }] = useUpdateMany();
    const notify = useNotify();
    const refresh = useRefresh();
    const [open, setOpen] = useState(false);
    const columns = editableColumns(table);

    async function submit(values: Record<string, any>) {
        const name = values[PICKED];
        try {
            await updateMany(resource, { ids: selectedIds, data: { [name]: values[name] ?? null } },
                             { returnPromise: true });
        } catch (error: any) {
            if (error?.body?.errors) return error.body.errors; // under the value's input
            notify(error?.message ?? "the update failed", { type: "error" });
            return undefined;
        }
        notify(`${selectedIds.length} rows updated`, { type: "info" });
        setOpen(false);
        onUnselectItems();
        refresh();
        return undefined;
    }

    return (
        <>
            <Button label="Bulk edit" onClick={() => setOpen(true)}><EditIcon /></Button>
            <Dialog open={open} onClose={() => setOpen(false)} fullWidth maxWidth="sm"
                    aria-labelledby="bulk-edit-title">
                <Form onSubmit={submit}>
                    <DialogTitle id="bulk-edit-title">
                        Set one column on {selectedIds.length} rows
                    </DialogTitle>
                    <DialogContent>
                        <SelectInput source={PICKED} label="Column" validate={required()}
                                     fullWidth helperText={false}
                                     choices={columns.map((c) => ({ id: c.name,
                                                                    name: c.title }))} />
                        <FormDataConsumer>
                            {({ formData }) => {
                                const column = columns.find((c) => c.name === formData[PICKED]);
                                return column ? columnInput(column, tables, "create") : null;
                            }}
                        </FormDataConsumer>
                    </DialogContent>
                    <DialogActions>
                        <Button label="Cancel" onClick={() => setOpen(false)} />
                        <SaveButton label="Update" icon={<EditIcon />} disabled={isPending} />
                    </DialogActions>
                </Form>
            </Dialog>
        </>
    );
}
