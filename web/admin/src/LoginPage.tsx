// src/LoginPage.tsx — the sign-in page: username and password (POST /auth/login) when the
// server has login on, and always a field to paste a token (one from `restable token` or an
// identity provider).
import { useState } from "react";
import { Box, Button, Card, CardContent, TextField, Typography } from "@mui/material";
import { useLogin, useNotify } from "react-admin";

export function LoginPage({ loginEnabled }: { loginEnabled: boolean }) {
    const login = useLogin();
    const notify = useNotify();
    const [username, setUsername] = useState("");
    const [password, setPassword] = useState("");
    const [token, setTokenText] = useState("");
    const submit = (params: Record<string, string>) => (event: React.FormEvent) => {
        event.preventDefault();
        login(params).catch((error: any) =>
            notify(error?.message || "sign-in failed", { type: "error" }));
    };
    return (
        <Box sx={{ display: "flex", justifyContent: "center", mt: 8 }}>
            <Card sx={{ width: 380 }}>
                <CardContent>
                    <Typography variant="h5" gutterBottom>restable admin</Typography>
                    {loginEnabled && (
                        <form onSubmit={submit({ username, password })} aria-label="sign in">
                            <TextField label="Username" name="username" fullWidth margin="dense"
                                       autoComplete="username" value={username}
                                       onChange={(e) => setUsername(e.target.value)} />
                            <TextField label="Password" name="password" type="password" fullWidth
                                       margin="dense" autoComplete="current-password"
                                       value={password} onChange={(e) => setPassword(e.target.value)} />
                            <Button type="submit" variant="contained" fullWidth sx={{ mt: 1 }}>
                                Sign in
                            </Button>
                        </form>
                    )}
                    <form onSubmit={submit({ token })} aria-label="use a token">
                        <Typography variant="body2" sx={{ mt: loginEnabled ? 3 : 0 }}>
                            {loginEnabled ? "Or paste a token:" : "Paste a token (a JWT):"}
                        </Typography>
                        <TextField label="Token" name="token" fullWidth margin="dense" value={token}
                                   onChange={(e) => setTokenText(e.target.value)} />
                        <Button type="submit" variant="outlined" fullWidth sx={{ mt: 1 }}>
                            Use token
                        </Button>
                    </form>
                </CardContent>
            </Card>
        </Box>
    );
}
